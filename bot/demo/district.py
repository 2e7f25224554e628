"""The sample district of the offline demo: who is in it and what happened there.

Pure data: no database, no Telegram. ``bot.demo.seed`` plays the story through the
services; the demo's sandbox is told about the people and the admin group from here.
The district is the demo's home office, one of the districts of the sample city
(``bot.demo.city``); :data:`WANZHOU` is the whole of it as one :class:`OfficeSpec`.

The district is modelled on a real one (a district of Chongqing like Wanzhou: sixteen
observation points, a handful of departments, a rule-of-law office), but every person,
phone number and organisation below is invented. What people typed is Chinese, as it
would be there; the one English-speaking observer (a manager at a foreign-invested
enterprise) typed English.

Times in the story are counted in working days back from its last working day (see
``bot.demo.seed``), at a local time of day, so the story always ends just before
"now" whenever it is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.lifecycle import Action
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    RatingValue,
    SuggestionKind,
)

PersonRole = Literal["observer", "admin", "liaison", "applicant", "stranger"]

# The admin group: a supergroup, as Telegram numbers them.
ADMIN_GROUP_ID = -1001000000001
ADMIN_GROUP_TITLE = "万州区依法治区办 · 法治观测点工作群"

# How long ago the story starts, in working days (about six weeks).
STORY_DAYS = 30


@dataclass(frozen=True, slots=True)
class Person:
    """Someone the sandbox plays; ``about_*`` is their line in the chat page's list."""

    user_id: int
    first_name: str
    last_name: str | None
    language_code: str
    role: PersonRole
    about_zh: str
    about_en: str


@dataclass(frozen=True, slots=True)
class PointSpec:
    code: str
    name: str
    name_en: str
    domain: FocusDomain
    host_kind: HostKind
    host_organisation: str
    town: str
    street: str


@dataclass(frozen=True, slots=True)
class DepartmentSpec:
    code: str
    name: str
    name_en: str


@dataclass(frozen=True, slots=True)
class LiaisonSpec:
    user_id: int
    name: str
    department: str  # a DepartmentSpec code


@dataclass(frozen=True, slots=True)
class ObserverSpec:
    user_id: int
    name: str
    first_name: str
    last_name: str | None
    language_code: str
    phone: str
    category: ObserverCategory
    point: str  # a PointSpec code
    recommending_unit: str
    resume: str
    # Applied through the bot and was approved; otherwise nominated by a unit, put on
    # file by the office and invited with a one-time link.
    applied: bool = False


@dataclass(frozen=True, slots=True)
class ApplicationSpec:
    user_id: int
    name: str
    phone: str
    category: ObserverCategory
    recommending_unit: str
    point: str
    resume: str


@dataclass(frozen=True, slots=True)
class Step:
    """One move of an item: who did what, when (working days before the story's last
    day, at a local "HH:MM"), with what words."""

    days_ago: int
    at: str
    action: Action
    by: int
    text: str | None = None
    department: str | None = None  # a DepartmentSpec code (adopt, assign)
    due_in: int | None = None  # working days after the move (adopt, set_due)
    to_whom: str | None = None  # escalate
    rating: RatingValue | None = None  # rate


@dataclass(frozen=True, slots=True)
class ItemSpec:
    key: str
    observer: int  # the filing observer's user id
    kind: SuggestionKind
    domain: FocusDomain
    behalf: Behalf
    title: str
    body: str
    steps: tuple[Step, ...]
    location: str | None = None


@dataclass(frozen=True, slots=True)
class AdminSpec:
    """A member of an office's group who administers it, so is one of its admins."""

    user_id: int
    name: str
    status: Literal["creator", "administrator"]


@dataclass(frozen=True, slots=True)
class OfficeSpec:
    """An office of the sample city: its code and name, its group and the admins in
    it, and what it works with. A district has points, observers and a story; the city
    has departments of its own."""

    code: str
    name: str  # as an operator names an office: "万州区 | Wanzhou"
    office: str  # the rule-of-law office: "万州区依法治区办"
    office_en: str
    group_id: int
    group_title: str
    admins: tuple[AdminSpec, ...]
    points: tuple[PointSpec, ...] = ()
    departments: tuple[DepartmentSpec, ...] = ()
    liaisons: tuple[LiaisonSpec, ...] = ()
    observers: tuple[ObserverSpec, ...] = ()
    items: tuple[ItemSpec, ...] = ()
    # An application the office has not decided yet, and when it came in (working
    # days before the story's last day, and the local time).
    application: ApplicationSpec | None = None
    application_at: tuple[int, str] = (1, "14:30")

    @property
    def place(self) -> str:
        """The place in Chinese: "万州区"."""
        return self.name.partition("|")[0].strip()

    @property
    def place_en(self) -> str:
        return self.name.partition("|")[2].strip() or self.place

    @property
    def admin_ids(self) -> tuple[int, ...]:
        return tuple(admin.user_id for admin in self.admins)

    def group_members(self) -> dict[int, str]:
        """The group's members and their status (user id -> "creator"/"administrator")."""
        return {admin.user_id: admin.status for admin in self.admins}


# ---- places -------------------------------------------------------------------------

_BIZ = FocusDomain.BUSINESS_ENVIRONMENT
_GOV = FocusDomain.GRASSROOTS_GOVERNANCE
_DISPUTES = FocusDomain.DISPUTE_RESOLUTION
_VILLAGES = FocusDomain.RULE_OF_LAW_VILLAGES
_YOUTH = FocusDomain.YOUTH_LEGAL_EDUCATION
_CENTRE = HostKind.SERVICE_CENTRE
_TRADE = HostKind.TRADE_ASSOCIATION
_CHAMBER = HostKind.CHAMBER_OF_COMMERCE
_FIRM = HostKind.ENTERPRISE
_SCHOOL = HostKind.SCHOOL

POINTS: tuple[PointSpec, ...] = (
    PointSpec(
        "P01",
        "高笋塘街道便民服务中心",
        "Gaosuntang Subdistrict Service Centre",
        _BIZ,
        _CENTRE,
        "高笋塘街道办事处",
        "高笋塘街道",
        "白岩路168号",
    ),
    PointSpec(
        "P02",
        "太白街道便民服务中心",
        "Taibai Subdistrict Service Centre",
        _GOV,
        _CENTRE,
        "太白街道办事处",
        "太白街道",
        "太白路52号",
    ),
    PointSpec(
        "P03",
        "龙都街道便民服务中心",
        "Longdu Subdistrict Service Centre",
        _DISPUTES,
        _CENTRE,
        "龙都街道办事处",
        "龙都街道",
        "龙都大道9号",
    ),
    PointSpec(
        "P04",
        "甘宁镇便民服务中心",
        "Ganning Town Service Centre",
        _VILLAGES,
        _CENTRE,
        "甘宁镇人民政府",
        "甘宁镇",
        "新街18号",
    ),
    PointSpec(
        "P05",
        "区个体劳动者协会",
        "District Self-Employed Workers' Association",
        _BIZ,
        _TRADE,
        "万州区个体劳动者协会",
        "牌楼街道",
        "北山大道66号",
    ),
    PointSpec(
        "P06",
        "区餐饮行业协会",
        "District Catering Association",
        _BIZ,
        _TRADE,
        "万州区餐饮行业协会",
        "钟鼓楼街道",
        "胜利路121号",
    ),
    PointSpec(
        "P07",
        "区建筑业协会",
        "District Construction Industry Association",
        _DISPUTES,
        _TRADE,
        "万州区建筑业协会",
        "双河口街道",
        "江南大道8号",
    ),
    PointSpec(
        "P08",
        "区总商会",
        "District General Chamber of Commerce",
        _BIZ,
        _CHAMBER,
        "万州区工商业联合会（总商会）",
        "高笋塘街道",
        "沙龙路二段15号",
    ),
    PointSpec(
        "P09",
        "区浙江商会",
        "Zhejiang Chamber of Commerce of the District",
        _DISPUTES,
        _CHAMBER,
        "万州区浙江商会",
        "周家坝街道",
        "万州大道880号",
    ),
    PointSpec(
        "P10",
        "区女企业家商会",
        "Women Entrepreneurs' Chamber of Commerce",
        _GOV,
        _CHAMBER,
        "万州区女企业家商会",
        "百安坝街道",
        "江南新区天子路3号",
    ),
    PointSpec(
        "P11",
        "三峡江城物流有限公司",
        "Sanxia Jiangcheng Logistics Co., Ltd.",
        _DISPUTES,
        _FIRM,
        "三峡江城物流有限公司",
        "五桥街道",
        "工业园区物流大道6号",
    ),
    PointSpec(
        "P12",
        "德利精密机械（重庆）有限公司",
        "Deli Precision Machinery (Chongqing) Co., Ltd.",
        _BIZ,
        _FIRM,
        "德利精密机械（重庆）有限公司",
        "五桥街道",
        "工业园区兴业路22号",
    ),
    PointSpec(
        "P13",
        "平湖生态农业有限公司",
        "Pinghu Eco-Agriculture Co., Ltd.",
        _VILLAGES,
        _FIRM,
        "平湖生态农业有限公司",
        "孙家镇",
        "平湖村三组",
    ),
    PointSpec(
        "P14",
        "区第二高级中学",
        "District No. 2 Senior High School",
        _YOUTH,
        _SCHOOL,
        "万州区第二高级中学",
        "陈家坝街道",
        "学府路1号",
    ),
    PointSpec(
        "P15",
        "高笋塘小学",
        "Gaosuntang Primary School",
        _YOUTH,
        _SCHOOL,
        "万州区高笋塘小学",
        "高笋塘街道",
        "白岩路40号",
    ),
    PointSpec(
        "P16",
        "区职业教育中心",
        "District Vocational Education Centre",
        _YOUTH,
        _SCHOOL,
        "万州区职业教育中心",
        "龙都街道",
        "职教路2号",
    ),
)

DEPARTMENTS: tuple[DepartmentSpec, ...] = (
    DepartmentSpec("MARKET", "区市场监管局", "District Market Regulation Administration"),
    DepartmentSpec(
        "HOUSING", "区住房城乡建设委", "District Housing and Urban-Rural Development Commission"
    ),
    DepartmentSpec("HRSS", "区人力社保局", "District Human Resources and Social Security Bureau"),
    DepartmentSpec("EDU", "区教委", "District Education Commission"),
    DepartmentSpec("JUSTICE", "区司法局", "District Justice Bureau"),
)

# ---- people -------------------------------------------------------------------------

# The rule-of-law office's two admins of the group.
ADMIN_CHEN, ADMIN_LIU = 7200001, 7200002
# Department liaisons; the market regulator has two.
LIAISON_MARKET, LIAISON_MARKET_2 = 7300001, 7300002
LIAISON_HOUSING, LIAISON_HRSS, LIAISON_EDU, LIAISON_JUSTICE = 7300003, 7300004, 7300005, 7300006
APPLICANT = 7400001
STRANGER = 7500001

_LIAISONS: tuple[LiaisonSpec, ...] = (
    LiaisonSpec(LIAISON_MARKET, "吴敏", "MARKET"),
    LiaisonSpec(LIAISON_MARKET_2, "钱进", "MARKET"),
    LiaisonSpec(LIAISON_HOUSING, "谢兵", "HOUSING"),
    LiaisonSpec(LIAISON_HRSS, "韩雪", "HRSS"),
    LiaisonSpec(LIAISON_EDU, "冯丽娟", "EDU"),
    LiaisonSpec(LIAISON_JUSTICE, "曹阳", "JUSTICE"),
)
LIAISONS = _LIAISONS

_ADMINS: tuple[AdminSpec, ...] = (
    AdminSpec(ADMIN_CHEN, "陈晓燕", "creator"),
    AdminSpec(ADMIN_LIU, "刘志强", "administrator"),
)


def observer_spec(
    user_id: int,
    name: str,
    category: ObserverCategory,
    point: str,
    unit: str,
    resume: str,
    *,
    applied: bool = False,
    phone: str | None = None,
) -> ObserverSpec:
    # Chinese users put the whole name in Telegram's first name; the phone numbers are
    # from the 138 0000 range, which belongs to nobody.
    return ObserverSpec(
        user_id=user_id,
        name=name,
        first_name=name,
        last_name=None,
        language_code="zh-hans",
        phone=phone or f"138 0000 {user_id % 10000:04d}",
        category=category,
        point=point,
        recommending_unit=unit,
        resume=resume,
        applied=applied,
    )


_C = ObserverCategory
OBSERVERS: tuple[ObserverSpec, ...] = (
    observer_spec(
        7100001,
        "王建华",
        _C.FRONTLINE_BUSINESS,
        "P01",
        "高笋塘街道个体工商户联合会",
        "在高笋塘经营五金店十五年，熟悉个体户办事的难处。",
        applied=True,
    ),
    observer_spec(
        7100002,
        "李秀英",
        _C.COMMUNITY_STAFF,
        "P01",
        "高笋塘街道白岩社区居委会",
        "社区居委会副主任，从事社区工作二十年。",
    ),
    observer_spec(
        7100003,
        "张国强",
        _C.PARTY_CONGRESS_DEPUTY,
        "P02",
        "太白街道党工委",
        "区党代表，退休前任企业工会主席。",
    ),
    observer_spec(
        7100004,
        "刘芳",
        _C.LAWYER,
        "P03",
        "重庆江城律师事务所",
        "执业律师，擅长婚姻家事和物业纠纷。",
        applied=True,
    ),
    observer_spec(
        7100005,
        "陈伟",
        _C.FRONTLINE_GOVERNANCE,
        "P03",
        "龙都街道人民调解委员会",
        "专职人民调解员。",
    ),
    observer_spec(
        7100006,
        "杨明",
        _C.COMMUNITY_STAFF,
        "P04",
        "甘宁镇永安村村民委员会",
        "村委会主任，牵头修订村规民约。",
    ),
    observer_spec(
        7100007,
        "赵丽",
        _C.TRADE_ASSOCIATION_MANAGER,
        "P05",
        "万州区个体劳动者协会",
        "协会秘书长。",
    ),
    observer_spec(
        7100008,
        "黄磊",
        _C.FRONTLINE_BUSINESS,
        "P05",
        "万州区个体劳动者协会",
        "经营两家早餐店。",
    ),
    observer_spec(
        7100009,
        "周婷",
        _C.TRADE_ASSOCIATION_MANAGER,
        "P06",
        "万州区餐饮行业协会",
        "协会副秘书长，负责会员服务。",
    ),
    observer_spec(
        7100010,
        "吴军",
        _C.NPC_DEPUTY,
        "P07",
        "万州区建筑业协会",
        "区人大代表，建筑企业项目经理。",
    ),
    observer_spec(
        7100011,
        "徐静",
        _C.LAWYER,
        "P07",
        "重庆江城律师事务所",
        "律师，长期为建筑企业提供法律服务。",
    ),
    observer_spec(
        7100012,
        "孙涛",
        _C.PRIVATE_ENTREPRENEUR,
        "P08",
        "万州区总商会",
        "民营企业负责人，总商会常务理事。",
        applied=True,
    ),
    observer_spec(
        7100013,
        "马超",
        _C.CPPCC_MEMBER,
        "P09",
        "万州区浙江商会",
        "区政协委员，商会副会长。",
    ),
    observer_spec(
        7100014,
        "朱红梅",
        _C.FRONTLINE_BUSINESS,
        "P11",
        "三峡江城物流有限公司",
        "公司人力资源部经理。",
    ),
    ObserverSpec(
        user_id=7100015,
        name="Daniel Fischer",
        first_name="Daniel",
        last_name="Fischer",
        language_code="en",
        phone="138 0000 0015",
        category=_C.FRONTLINE_BUSINESS,
        point="P12",
        recommending_unit="德利精密机械（重庆）有限公司",
        resume="General manager of a German-invested machinery plant; in Wanzhou since 2019.",
        applied=True,
    ),
    observer_spec(
        7100016,
        "胡晓东",
        _C.FRONTLINE_BUSINESS,
        "P12",
        "德利精密机械（重庆）有限公司",
        "公司行政主管。",
    ),
    observer_spec(
        7100017,
        "郭春燕",
        _C.NPC_DEPUTY,
        "P13",
        "平湖生态农业有限公司",
        "区人大代表，农民专业合作社理事长。",
    ),
    observer_spec(
        7100018,
        "林静",
        _C.OTHER,
        "P14",
        "万州区第二高级中学",
        "思想政治教师，负责学校法治教育。",
    ),
    observer_spec(
        7100019,
        "何平",
        _C.CPPCC_MEMBER,
        "P14",
        "万州区第二高级中学",
        "学校副校长，区政协委员。",
    ),
    observer_spec(
        7100020,
        "罗小琴",
        _C.OTHER,
        "P15",
        "万州区高笋塘小学",
        "学校德育主任。",
    ),
)

# The one application the office has not decided yet: a stranger wants to serve at
# the women entrepreneurs' chamber, which has no observer so far.
APPLICATION = ApplicationSpec(
    user_id=APPLICANT,
    name="邓雪梅",
    phone="138 0000 0301",
    category=_C.PRIVATE_ENTREPRENEUR,
    recommending_unit="万州区女企业家商会",
    point="P10",
    resume="从事餐饮连锁经营十二年，区女企业家商会副会长，热心社会公益。",
)
# When it came in: working days before the story's last day, and the local time.
APPLICATION_AT = (1, "14:30")

# The people a browser test plays: an appointed Chinese-speaking observer at a point of
# the business environment (what the market regulator deals with), an admin of the
# group, and the market regulator's liaison.
DEMO_OBSERVER = 7100001
DEMO_ADMIN = ADMIN_CHEN
DEMO_LIAISON = LIAISON_MARKET

# ---- the story ----------------------------------------------------------------------

A = Action
_R = RatingValue
# Filing observers, by name, to keep the story readable. The demo observer files
# nothing in the story: a browser test finds in their chat only what it did itself.
_LI, _ZHANG, _LIU_F, _YANG, _ZHAO, _HUANG = 7100002, 7100003, 7100004, 7100006, 7100007, 7100008
_ZHOU, _WU, _SUN, _MA, _DANIEL, _HU = 7100009, 7100010, 7100012, 7100013, 7100015, 7100016
_GUO, _LIN, _LUO = 7100017, 7100018, 7100020


def _step(days_ago: int, at: str, action: Action, by: int, text: str | None = None) -> Step:
    return Step(days_ago, at, action, by, text)


ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec(
        key="annual-report",
        observer=_ZHAO,
        kind=SuggestionKind.PROBLEM,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="市场主体年报系统操作复杂，个体户填报困难",
        body=(
            "市场主体年度报告公示系统页面复杂，很多个体工商户年纪偏大，不会在手机上填报，"
            "每年6月底前都集中到便民服务中心排队求助，有的因逾期未报被列入经营异常名录。"
            "建议在街道便民服务中心设立年报帮办窗口，并制作图解版操作指南。"
        ),
        steps=(
            _step(28, "10:15", A.SUBMIT, _ZHAO),
            _step(27, "09:30", A.TAKE, ADMIN_CHEN),
            Step(
                26,
                "15:00",
                A.ADOPT,
                ADMIN_CHEN,
                "请区市场监管局牵头，在各街道便民服务中心设立年报帮办点，并制作图解版操作指南。",
                department="MARKET",
                due_in=20,
            ),
            _step(25, "10:00", A.ACCEPT, LIAISON_MARKET),
            _step(
                20,
                "16:00",
                A.PROGRESS,
                LIAISON_MARKET,
                "已在高笋塘、太白、龙都三个街道便民服务中心设立年报帮办窗口，"
                "图解版操作指南已印制2000份。",
            ),
            _step(
                14,
                "11:00",
                A.MARK_IMPLEMENTED,
                LIAISON_MARKET,
                "全区各街道便民服务中心均已设立年报帮办窗口，并上线手机填报视频教程。",
            ),
            Step(
                12,
                "09:10",
                A.RATE,
                _ZHAO,
                "帮办窗口开设后，会员们反映很方便，谢谢！",
                rating=_R.SATISFIED,
            ),
        ),
    ),
    ItemSpec(
        key="e-bike-charging",
        observer=_ZHANG,
        kind=SuggestionKind.PROBLEM,
        domain=_GOV,
        behalf=Behalf.RESIDENTS,
        title="老旧小区电动自行车充电设施不足，飞线充电隐患大",
        body=(
            "太白街道原纺织厂宿舍小区建于上世纪90年代，居民电动自行车有一百多辆，"
            "小区内没有任何集中充电设施，不少居民从楼上拉电线下来充电，"
            "还有人把电瓶拎回家充，存在很大的火灾隐患。建议在小区内建设集中充电棚。"
        ),
        location="太白街道白岩路原纺织厂宿舍小区",
        steps=(
            _step(27, "14:20", A.SUBMIT, _ZHANG),
            _step(26, "10:00", A.TAKE, ADMIN_LIU),
            _step(
                26,
                "10:30",
                A.ASK_INFO,
                ADMIN_LIU,
                "请补充小区户数、现有充电设施情况，以及业主委员会对建设充电棚的意见。",
            ),
            _step(
                25,
                "11:40",
                A.ANSWER_INFO,
                _ZHANG,
                "小区共6栋312户，目前没有任何集中充电设施；"
                "业委会已开会同意在2号楼与3号楼之间的空地建设充电棚。",
            ),
            _step(24, "09:20", A.TAKE, ADMIN_LIU),
            Step(
                24,
                "11:00",
                A.ADOPT,
                ADMIN_CHEN,
                "请区住房城乡建设委会同太白街道落实，纳入今年老旧小区改造计划。",
                department="HOUSING",
                due_in=25,
            ),
            _step(23, "09:40", A.ACCEPT, LIAISON_HOUSING),
            _step(
                17,
                "15:30",
                A.PROGRESS,
                LIAISON_HOUSING,
                "充电棚选址已确定，消防部门已到现场踏勘。",
            ),
            _step(
                11,
                "10:00",
                A.PROGRESS,
                LIAISON_HOUSING,
                "充电棚主体完工，已安装充电端口40个，正在进行电力接入。",
            ),
            _step(
                8,
                "16:00",
                A.MARK_IMPLEMENTED,
                LIAISON_HOUSING,
                "充电棚已投入使用，共40个充电端口，扫码计费，并配备了灭火器和监控。",
            ),
            Step(
                7,
                "10:30",
                A.RATE,
                _ZHANG,
                "已经建好，居民都说好，但端口还是偏少，希望二期再增加一些。",
                rating=_R.BASICALLY_SATISFIED,
            ),
        ),
    ),
    ItemSpec(
        key="law-lectures",
        observer=_LIN,
        kind=SuggestionKind.SUGGESTION,
        domain=_YOUTH,
        behalf=Behalf.OWN,
        title="建议每学期开展一次法治进校园讲座",
        body=(
            "学生对网络诈骗、校园欺凌、个人信息保护等法律问题了解不多。"
            "建议由区司法局组织法律工作者每学期到校开展一次法治讲座，"
            "并结合模拟法庭等形式，提高学生的参与度。"
        ),
        steps=(
            _step(24, "10:00", A.SUBMIT, _LIN),
            _step(23, "14:00", A.TAKE, ADMIN_CHEN),
            _step(
                22,
                "16:30",
                A.KEEP_REFERENCE,
                ADMIN_CHEN,
                "“法治进校园”已纳入区年度普法计划，由各校法治副校长按学期授课。"
                "您的建议留作参考，将在制定下一年度普法计划时统筹考虑。",
            ),
            Step(
                21,
                "09:00",
                A.RATE,
                _LIN,
                "希望讲座形式更生动一些，可以增加模拟法庭。",
                rating=_R.BASICALLY_SATISFIED,
            ),
        ),
    ),
    ItemSpec(
        key="school-gate-vendors",
        observer=_LUO,
        kind=SuggestionKind.PROBLEM,
        domain=_GOV,
        behalf=Behalf.RESIDENTS,
        title="学校门口流动摊贩占道经营，食品安全无保障",
        body=(
            "每天放学时段，校门口聚集十余个流动摊贩，占用人行道和部分车道，"
            "学生只能绕到机动车道上行走；摊贩售卖的辣条、炸串等食品来源不明，"
            "存在食品安全隐患。"
        ),
        location="高笋塘小学校门口（白岩路段）",
        steps=(
            _step(18, "08:50", A.SUBMIT, _LUO),
            _step(17, "10:10", A.TAKE, ADMIN_LIU),
            Step(
                16,
                "15:20",
                A.ADOPT,
                ADMIN_LIU,
                "请区市场监管局会同高笋塘街道开展校园周边食品安全和占道经营专项整治。",
                department="MARKET",
                due_in=20,
            ),
            _step(15, "09:30", A.ACCEPT, LIAISON_MARKET_2),
            _step(
                9,
                "17:00",
                A.PROGRESS,
                LIAISON_MARKET_2,
                "已联合街道开展检查2次，劝离无证摊贩11户，"
                "对校园周边3家小卖部进行了食品抽检，结果均合格。",
            ),
        ),
    ),
    ItemSpec(
        key="wage-arrears",
        observer=_WU,
        kind=SuggestionKind.PROBLEM,
        domain=_DISPUTES,
        behalf=Behalf.RESIDENTS,
        title="安置房项目工地拖欠农民工工资",
        body=(
            "五桥街道某安置房项目工地，劳务分包单位拖欠23名农民工两个月工资约46万元，"
            "工人多次讨要未果，情绪激动，存在聚集风险。"
        ),
        location="五桥街道某安置房项目工地",
        steps=(
            _step(21, "09:05", A.SUBMIT, _WU),
            _step(21, "09:40", A.TAKE, ADMIN_CHEN),
            Step(
                20,
                "11:30",
                A.ADOPT,
                ADMIN_CHEN,
                "请督促总包单位落实农民工工资支付责任，尽快足额支付。",
                department="HOUSING",
                due_in=10,
            ),
            _step(19, "10:00", A.ACCEPT, LIAISON_HOUSING),
            _step(
                19,
                "15:00",
                A.HAND_BACK,
                LIAISON_HOUSING,
                "拖欠工资的查处属于劳动保障监察职责，建议改由区人力社保局牵头，"
                "我委配合督促总包单位。",
            ),
            Step(18, "09:30", A.ASSIGN, ADMIN_CHEN, department="HRSS"),
            _step(18, "11:00", A.ACCEPT, LIAISON_HRSS),
            _step(
                17,
                "09:00",
                A.NOTE,
                ADMIN_LIU,
                "已电话联系五桥街道劳动保障所，请其配合做好工人情绪安抚。",
            ),
            _step(
                14,
                "16:40",
                A.PROGRESS,
                LIAISON_HRSS,
                "已立案调查，约谈总包及分包单位负责人，总包单位承诺先行垫付。",
            ),
            _step(
                6,
                "10:20",
                A.PROGRESS,
                LIAISON_HRSS,
                "已支付18名工人工资35.2万元；其余5人因工时认定有争议，正在组织调解。",
            ),
        ),
    ),
    ItemSpec(
        key="food-licence",
        observer=_HUANG,
        kind=SuggestionKind.PROBLEM,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="办理食品经营许可证需多次跑腿",
        body=(
            "开一家早餐店办理食品经营许可证，前后跑了4次：第一次材料不全，"
            "第二次现场核查时间约不上，第三次才受理。建议公开完整的材料清单，"
            "推行网上预审，减少跑腿次数。"
        ),
        steps=(
            _step(15, "10:30", A.SUBMIT, _HUANG),
            _step(14, "09:15", A.TAKE, ADMIN_CHEN),
            Step(
                13,
                "16:00",
                A.ADOPT,
                ADMIN_CHEN,
                "请区市场监管局优化食品经营许可办理流程，推行网上预审、“一次办成”。",
                department="MARKET",
                due_in=10,
            ),
            _step(12, "09:00", A.ACCEPT, LIAISON_MARKET),
            _step(
                8,
                "15:00",
                A.PROGRESS,
                LIAISON_MARKET,
                "已梳理办理材料，由9项精简为5项；网上申请系统已开通预审功能。",
            ),
            _step(
                3,
                "10:40",
                A.MARK_IMPLEMENTED,
                LIAISON_MARKET,
                "食品经营许可已实现网上预审、现场核查一次完成，"
                "平均办理时间由10个工作日缩短至3个工作日。",
            ),
        ),
    ),
    ItemSpec(
        key="legal-service-station",
        observer=_SUN,
        kind=SuggestionKind.SUGGESTION,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="建议在工业园区设立公共法律服务工作站",
        body=(
            "园区内中小企业多，合同纠纷、劳动用工等法律咨询需求大，但到城区找律师不方便。"
            "建议在园区设立公共法律服务工作站，定期安排律师坐班，"
            "提供法律咨询和合同审查服务。"
        ),
        steps=(
            _step(6, "14:00", A.SUBMIT, _SUN),
            _step(5, "09:50", A.TAKE, ADMIN_LIU),
            Step(
                2,
                "15:30",
                A.ADOPT,
                ADMIN_CHEN,
                "请区司法局在工业园区设立公共法律服务工作站，每周安排律师坐班不少于两天。",
                department="JUSTICE",
                due_in=20,
            ),
        ),
    ),
    ItemSpec(
        key="lunchtime-service",
        observer=_LI,
        kind=SuggestionKind.SUGGESTION,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="建议便民服务中心午间延时办理营业执照业务",
        body=(
            "社区里不少个体户白天要守店，只有中午有空办事，但便民服务中心12:00至14:00"
            "不办理营业执照业务。建议实行午间轮班延时服务，方便个体户办事。"
        ),
        steps=(
            _step(2, "10:20", A.SUBMIT, _LI),
            _step(1, "15:10", A.TAKE, ADMIN_CHEN),
        ),
    ),
    ItemSpec(
        key="property-mediation",
        observer=_LIU_F,
        kind=SuggestionKind.SUGGESTION,
        domain=_DISPUTES,
        behalf=Behalf.RESIDENTS,
        title="建议在街道设立物业纠纷人民调解工作室",
        body=(
            "近年来龙都街道物业纠纷明显增多，涉及物业费、停车位、公共收益等，"
            "很多纠纷直接诉至法院。建议在街道设立物业纠纷人民调解工作室，"
            "吸纳律师、物业行业人员参与调解。"
        ),
        steps=(
            _step(5, "11:00", A.SUBMIT, _LIU_F),
            _step(4, "10:00", A.TAKE, ADMIN_LIU),
            _step(
                3,
                "16:20",
                A.ASK_INFO,
                ADMIN_LIU,
                "请补充近一年龙都街道物业纠纷的大致数量和主要类型，以及调解工作室人员的拟定来源。",
            ),
        ),
    ),
    ItemSpec(
        key="intermediary-fees",
        observer=_MA,
        kind=SuggestionKind.OPINION,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="工程建设项目审批中介服务收费标准不统一",
        body=(
            "企业办理工程建设项目审批时，环评、能评、水土保持等中介服务收费标准不一，"
            "同类服务在不同区县价格相差近一倍。建议统一规范中介服务收费标准并向社会公开。"
        ),
        steps=(
            _step(12, "09:30", A.SUBMIT, _MA),
            _step(11, "14:00", A.TAKE, ADMIN_CHEN),
            Step(
                9,
                "10:00",
                A.ESCALATE,
                ADMIN_CHEN,
                "中介服务收费标准属市级事权，已报市依法治市办研究，收到答复后将及时告知。",
                to_whom="市依法治市办",
            ),
            _step(9, "10:05", A.NOTE, ADMIN_CHEN, "书面材料已随月度工作报告一并报送。"),
        ),
    ),
    ItemSpec(
        key="village-lawyers",
        observer=_YANG,
        kind=SuggestionKind.SUGGESTION,
        domain=_VILLAGES,
        behalf=Behalf.RESIDENTS,
        title="建议为每个村配备专职法律顾问",
        body=(
            "村里土地流转、邻里纠纷、赡养纠纷较多，现有法律顾问每月只来一次，"
            "村民有问题不能及时咨询。建议为每个村配备专职法律顾问。"
        ),
        steps=(
            _step(9, "15:00", A.SUBMIT, _YANG),
            _step(8, "09:30", A.TAKE, ADMIN_LIU),
            _step(
                3,
                "17:00",
                A.KEEP_REFERENCE,
                ADMIN_LIU,
                "目前全区已实现“一村（社区）一法律顾问”全覆盖，顾问由律师兼任，"
                "暂不具备配备专职顾问的条件。下一步将推广视频法律咨询，方便村民随时咨询。"
                "您的建议留作参考。",
            ),
        ),
    ),
    ItemSpec(
        key="night-trucks",
        observer=_DANIEL,
        kind=SuggestionKind.SUGGESTION,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="Allow heavy trucks on Binjiang Road at night",
        body=(
            "Our trucks must take a 12 km detour to reach the industrial park, because "
            "heavy trucks are banned on Binjiang Road around the clock. We suggest "
            "allowing them between 22:00 and 06:00, when traffic is light."
        ),
        steps=(
            _step(10, "11:20", A.SUBMIT, _DANIEL),
            _step(9, "09:00", A.TAKE, ADMIN_CHEN),
            _step(
                5,
                "16:00",
                A.DECLINE,
                ADMIN_CHEN,
                "滨江路沿线为居民集中居住区，货车限行是为减少噪声、保障交通安全，"
                "经征求公安交警部门意见，不予采纳。园区货运通道二期工程预计明年建成，"
                "届时绕行距离将大大缩短。\n"
                "Not adopted: Binjiang Road runs through a dense residential area, and the "
                "ban keeps noise down and traffic safe (the traffic police were consulted). "
                "The park's second freight road, due next year, will shorten the detour.",
            ),
        ),
    ),
    ItemSpec(
        key="kitchen-fumes",
        observer=_ZHOU,
        kind=SuggestionKind.PROBLEM,
        domain=_BIZ,
        behalf=Behalf.BUSINESS,
        title="餐饮店油烟净化设施检查标准不统一",
        body=(
            "近期不同部门先后到餐饮店检查油烟净化设施，对清洗频次、检测报告的要求不一致，"
            "有的要求每月清洗，有的要求每季度清洗，商户无所适从。"
            "建议统一检查标准，推行“综合查一次”。"
        ),
        steps=(_step(4, "09:30", A.SUBMIT, _ZHOU),),
    ),
    ItemSpec(
        key="land-transfer",
        observer=_GUO,
        kind=SuggestionKind.PROBLEM,
        domain=_VILLAGES,
        behalf=Behalf.RESIDENTS,
        title="土地流转合同不规范，农户权益难保障",
        body=(
            "部分村土地流转只有口头协议或一页纸的简单合同，对流转期限、租金支付、"
            "土地复垦等约定不清，业主跑路后农户的租金无人支付。"
            "建议推广土地流转合同示范文本，并由镇农业服务中心统一备案。"
        ),
        location="孙家镇平湖村、石峰村",
        steps=(_step(0, "16:10", A.SUBMIT, _GUO),),
    ),
    ItemSpec(
        key="park-buses",
        observer=_HU,
        kind=SuggestionKind.SUGGESTION,
        domain=_GOV,
        behalf=Behalf.RESIDENTS,
        title="建议增开工业园区通勤公交班次",
        body=(
            "园区通勤公交早晚高峰每40分钟一班，职工上下班等车时间长。"
            "建议高峰时段加密至每15分钟一班。"
        ),
        steps=(
            _step(16, "10:00", A.SUBMIT, _HU),
            _step(
                15,
                "08:45",
                A.WITHDRAW,
                _HU,
                "公交公司已在高峰时段加密班次，问题已经解决，撤回。",
            ),
        ),
    ),
)


# ---- the district as one office ---------------------------------------------------------

WANZHOU = OfficeSpec(
    code="WZ",
    name="万州区 | Wanzhou",
    office="万州区依法治区办",
    office_en="Wanzhou rule-of-law office",
    group_id=ADMIN_GROUP_ID,
    group_title=ADMIN_GROUP_TITLE,
    admins=_ADMINS,
    points=POINTS,
    departments=DEPARTMENTS,
    liaisons=LIAISONS,
    observers=OBSERVERS,
    items=ITEMS,
    application=APPLICATION,
    application_at=APPLICATION_AT,
)

# ---- the people as the sandbox shows them ---------------------------------------------


def office_people(office: OfficeSpec) -> tuple[Person, ...]:
    """The office's people as the chat page lists them, each line saying where they
    belong: the city shows several offices side by side."""
    points = {p.code: p for p in office.points}
    departments = {d.code: d for d in office.departments}
    here, here_en = office.place, office.place_en
    people: list[Person] = []
    for o in office.observers:
        point = points[o.point]
        people.append(
            Person(
                o.user_id,
                o.first_name,
                o.last_name,
                o.language_code,
                "observer",
                f"{here} · 观察员 · {point.code} {point.name}",
                f"{here_en} · Observer · {point.code} {point.name_en}",
            )
        )
    for admin in office.admins:
        people.append(
            Person(
                admin.user_id,
                admin.name,
                None,
                "zh-hans",
                "admin",
                f"{office.office} · 管理员",
                f"{office.office_en} · admin",
            )
        )
    for liaison in office.liaisons:
        department = departments[liaison.department]
        people.append(
            Person(
                liaison.user_id,
                liaison.name,
                None,
                "zh-hans",
                "liaison",
                f"{here} · 联络员 · {department.name}",
                f"{here_en} · Liaison · {department.name_en}",
            )
        )
    if office.application is not None:
        people.append(
            Person(
                office.application.user_id,
                office.application.name,
                None,
                "zh-hans",
                "applicant",
                f"{here} · 申请人（待审核）",
                f"{here_en} · Applicant (awaiting the office)",
            )
        )
    return tuple(people)


# Someone who has never written to the bot: they belong to no office yet.
STRANGER_PERSON = Person(
    STRANGER, "周小龙", None, "zh-hans", "stranger", "未使用过机器人", "Never used the bot"
)
PEOPLE: tuple[Person, ...] = (*office_people(WANZHOU), STRANGER_PERSON)
ADMINS: tuple[int, ...] = WANZHOU.admin_ids


def group_members() -> dict[int, str]:
    """The admin group's members and their status (user id -> "creator"/"administrator")."""
    return WANZHOU.group_members()


def person(user_id: int) -> Person:
    return next(p for p in PEOPLE if p.user_id == user_id)
