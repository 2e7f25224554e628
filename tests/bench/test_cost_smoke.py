"""The cost benchmark, run tiny: not its figures, but that the lines it prints are in
the form the targets are checked on and add up to what it counted."""

from __future__ import annotations

import re

import pytest

from bench import cost

COST = re.compile(
    r"^COST sqlite mix statements (\d+\.\d) cpu-ms-all-in (\d+\.\d) "
    r"outbox-statements (\d+\.\d)$",
    re.MULTILINE,
)
STACK = re.compile(
    r"^STACK sqlite statement-ms (\d+\.\d{3}) transaction-ms (\d+\.\d{3}) "
    r"statements (\d+\.\d) transactions (\d+\.\d) sql-cpu-ms (\d+\.\d) "
    r"of cpu-ms-all-in (\d+\.\d)$",
    re.MULTILINE,
)


async def test_a_tiny_run_prints_its_cost_and_what_the_database_layer_takes_of_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--updates", "13", "--db", "sqlite", "--stack", "--stack-rounds", "40"]
    [measured] = await cost.measure(argv)
    assert measured.sound
    assert measured.updates == 26
    assert measured.delivered > 0
    mix = measured.mix()
    # Every update claims itself and reads its conversation: two statements at least.
    assert mix.statements >= 2 * measured.updates
    assert mix.transactions >= measured.updates
    printed = capsys.readouterr().out
    [(statements, all_in, outbox)] = COST.findall(printed)
    assert statements == f"{mix.statements / measured.updates:.1f}"
    assert outbox == f"{measured.tally.outbox_statements / measured.delivered:.1f}"
    [stack] = STACK.findall(printed)
    statement_ms, transaction_ms, per_update, transactions, sql_ms, stack_all_in = map(float, stack)
    assert measured.stack is not None
    assert transaction_ms >= 0  # a price, never below zero however busy the machine
    assert statement_ms >= 0
    everything = mix.statements + measured.tally.outbox_statements
    assert per_update == round(everything / measured.updates, 1)
    begun = mix.transactions + measured.tally.outbox_transactions
    assert transactions == round(begun / measured.updates, 1)
    priced = (
        everything * measured.stack.statement_ms + begun * measured.stack.transaction_ms
    ) / measured.updates
    assert sql_ms == round(priced, 1)
    assert f"{stack_all_in:.1f}" == all_in
