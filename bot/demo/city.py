"""The sample city of the offline demo: Chongqing's office above three districts.

Pure data, as ``bot.demo.district`` is. The sample district (万州区, the demo's home
office) keeps its whole story; the seed (``bot.demo.seed``) also creates the city's
office (重庆市依法治市办) above it and two more districts below the city, 涪陵区 and
黔江区, each with its own admin group, points, departments and their liaisons,
observers, and a handful of items at different stages. The city's office has a group
and departments of its own.

The districts are modelled on real ones of Chongqing (Fuling's pickled mustard tuber,
Qianjiang's ancient town and its Tujia people), but every person, phone number and
organisation below is invented. Times are counted as in ``bot.demo.district``: working
days back from the story's last working day, at a local time of day.
"""

from __future__ import annotations

from bot.demo.district import (
    STRANGER_PERSON,
    WANZHOU,
    AdminSpec,
    DepartmentSpec,
    ItemSpec,
    LiaisonSpec,
    ObserverSpec,
    OfficeSpec,
    Person,
    PointSpec,
    Step,
    observer_spec,
    office_people,
)
from bot.domain.lifecycle import Action
from bot.domain.statuses import (
    Behalf,
    FocusDomain,
    HostKind,
    ObserverCategory,
    RatingValue,
    SuggestionKind,
)

# Each office's group: supergroups, as Telegram numbers them (万州区's is
# ``district.ADMIN_GROUP_ID``, ending in 1).
CITY_GROUP_ID = -1001000000002
FULING_GROUP_ID = -1001000000003
QIANJIANG_GROUP_ID = -1001000000004

# Where an item goes when the district cannot settle it (报市级研究).
TO_THE_CITY = "市依法治市办"

_BIZ = FocusDomain.BUSINESS_ENVIRONMENT
_GOV = FocusDomain.GRASSROOTS_GOVERNANCE
_DISPUTES = FocusDomain.DISPUTE_RESOLUTION
_VILLAGES = FocusDomain.RULE_OF_LAW_VILLAGES
_C = ObserverCategory
_R = RatingValue
A = Action


def _observer(
    user_id: int,
    name: str,
    category: ObserverCategory,
    point: str,
    unit: str,
    resume: str,
    *,
    applied: bool = False,
) -> ObserverSpec:
    # The sample district's observer, with a phone from the 138 0000 range (nobody's)
    # whose first digit is the district's: 712xxxx -> 2xxx.
    phone = f"138 0000 {user_id // 10000 % 10}{user_id % 1000:03d}"
    return observer_spec(user_id, name, category, point, unit, resume, applied=applied, phone=phone)


def _step(days_ago: int, at: str, action: Action, by: int, text: str | None = None) -> Step:
    return Step(days_ago, at, action, by, text)


# ---- the city: 重庆市依法治市办 ------------------------------------------------------------

CITY_ADMIN_QIU, CITY_ADMIN_TANG = 7210001, 7210002
CITY_LIAISON_JUSTICE, CITY_LIAISON_MARKET = 7310001, 7310002

CHONGQING = OfficeSpec(
    code="CQ",
    name="重庆市 | Chongqing",
    office="重庆市依法治市办",
    office_en="Chongqing rule-of-law office",
    group_id=CITY_GROUP_ID,
    group_title="重庆市依法治市办 · 法治观测点工作群",
    admins=(
        AdminSpec(CITY_ADMIN_QIU, "邱文静", "creator"),
        AdminSpec(CITY_ADMIN_TANG, "唐建国", "administrator"),
    ),
    departments=(
        DepartmentSpec("CQ-JUSTICE", "市司法局", "Municipal Justice Bureau"),
        DepartmentSpec(
            "CQ-MARKET", "市市场监管局", "Municipal Administration for Market Regulation"
        ),
    ),
    liaisons=(
        LiaisonSpec(CITY_LIAISON_JUSTICE, "蔡文", "CQ-JUSTICE"),
        LiaisonSpec(CITY_LIAISON_MARKET, "廖静", "CQ-MARKET"),
    ),
)

# ---- 涪陵区 ------------------------------------------------------------------------------

FL_ADMIN_JIANG, FL_ADMIN_PENG = 7220001, 7220002
FL_LIAISON_MARKET, FL_LIAISON_AGRI, FL_LIAISON_JUSTICE = 7320001, 7320002, 7320003
_TAN, _RAN, _QIN, _KUANG = 7120001, 7120002, 7120003, 7120004

FULING = OfficeSpec(
    code="FL",
    name="涪陵区 | Fuling",
    office="涪陵区依法治区办",
    office_en="Fuling rule-of-law office",
    group_id=FULING_GROUP_ID,
    group_title="涪陵区依法治区办 · 法治观测点工作群",
    admins=(
        AdminSpec(FL_ADMIN_JIANG, "蒋红", "creator"),
        AdminSpec(FL_ADMIN_PENG, "彭涛", "administrator"),
    ),
    points=(
        PointSpec(
            "FL01",
            "崇义街道便民服务中心",
            "Chongyi Subdistrict Service Centre",
            _GOV,
            HostKind.SERVICE_CENTRE,
            "崇义街道办事处",
            "崇义街道",
            "兴华中路26号",
        ),
        PointSpec(
            "FL02",
            "区榨菜行业协会",
            "District Pickled Mustard Industry Association",
            _BIZ,
            HostKind.TRADE_ASSOCIATION,
            "涪陵区榨菜行业协会",
            "江北街道",
            "榨菜大道88号",
        ),
        PointSpec(
            "FL03",
            "马武镇便民服务中心",
            "Mawu Town Service Centre",
            _VILLAGES,
            HostKind.SERVICE_CENTRE,
            "马武镇人民政府",
            "马武镇",
            "场镇新街3号",
        ),
    ),
    departments=(
        DepartmentSpec("FL-MARKET", "区市场监管局", "District Market Regulation Administration"),
        DepartmentSpec(
            "FL-AGRI", "区农业农村委", "District Agriculture and Rural Affairs Commission"
        ),
        DepartmentSpec("FL-JUSTICE", "区司法局", "District Justice Bureau"),
    ),
    liaisons=(
        LiaisonSpec(FL_LIAISON_MARKET, "傅强", "FL-MARKET"),
        LiaisonSpec(FL_LIAISON_AGRI, "夏雨", "FL-AGRI"),
        LiaisonSpec(FL_LIAISON_JUSTICE, "程雪", "FL-JUSTICE"),
    ),
    observers=(
        _observer(
            _TAN,
            "谭志刚",
            _C.PRIVATE_ENTREPRENEUR,
            "FL02",
            "涪陵区榨菜行业协会",
            "榨菜加工企业负责人，从业二十余年。",
        ),
        _observer(
            _RAN,
            "冉丽萍",
            _C.COMMUNITY_STAFF,
            "FL01",
            "崇义街道兴华社区居委会",
            "社区党委书记，熟悉老城区居民情况。",
        ),
        _observer(
            _QIN,
            "秦勇",
            _C.LAWYER,
            "FL01",
            "重庆涪州律师事务所",
            "执业律师，担任多个社区的法律顾问。",
            applied=True,
        ),
        _observer(
            _KUANG,
            "况春梅",
            _C.NPC_DEPUTY,
            "FL03",
            "马武镇文龙村村民委员会",
            "区人大代表，青菜头种植大户。",
        ),
    ),
    items=(
        ItemSpec(
            key="fl-licence-renewal",
            observer=_TAN,
            kind=SuggestionKind.PROBLEM,
            domain=_BIZ,
            behalf=Behalf.BUSINESS,
            title="食品生产许可延续需重复提交材料",
            body=(
                "榨菜企业办理食品生产许可延续时，营业执照、厂区平面图等没有变化的材料"
                "也要重新提交，一些企业因此来回跑了好几趟。建议对未发生变化的材料实行"
                "告知承诺，不再重复提交。"
            ),
            steps=(
                _step(26, "09:15", A.SUBMIT, _TAN),
                _step(25, "10:40", A.TAKE, FL_ADMIN_JIANG),
                Step(
                    24,
                    "15:00",
                    A.ADOPT,
                    FL_ADMIN_JIANG,
                    "请区市场监管局梳理食品生产许可延续材料，对未发生变化的材料实行告知承诺。",
                    department="FL-MARKET",
                    due_in=15,
                ),
                _step(23, "10:20", A.ACCEPT, FL_LIAISON_MARKET),
                _step(
                    13,
                    "16:30",
                    A.MARK_IMPLEMENTED,
                    FL_LIAISON_MARKET,
                    "已对营业执照、厂区平面图等6项未变化的材料实行告知承诺，"
                    "许可延续申请可全程网上办理。",
                ),
                Step(
                    12,
                    "10:00",
                    A.RATE,
                    _TAN,
                    "现在网上就能办，省了不少事。",
                    rating=_R.SATISFIED,
                ),
            ),
        ),
        ItemSpec(
            key="fl-lawyer-mediation",
            observer=_QIN,
            kind=SuggestionKind.SUGGESTION,
            domain=_DISPUTES,
            behalf=Behalf.RESIDENTS,
            title="建议在崇义街道设立律师调解工作室",
            body=(
                "街道的矛盾纠纷以邻里、物业、婚姻家庭纠纷居多，当事人往往既需要调解，"
                "也需要法律意见。建议在街道设立律师调解工作室，由律师每周轮值，"
                "调解和法律咨询一站式办理。"
            ),
            steps=(
                _step(20, "10:10", A.SUBMIT, _QIN),
                _step(19, "14:30", A.TAKE, FL_ADMIN_PENG),
                Step(
                    18,
                    "11:00",
                    A.ADOPT,
                    FL_ADMIN_JIANG,
                    "请区司法局会同崇义街道设立律师调解工作室，安排律师每周轮值。",
                    department="FL-JUSTICE",
                    due_in=30,
                ),
                _step(17, "09:30", A.ACCEPT, FL_LIAISON_JUSTICE),
                _step(
                    10,
                    "15:40",
                    A.PROGRESS,
                    FL_LIAISON_JUSTICE,
                    "工作室已选址街道综治中心一楼，首批8名律师的轮值表已排定。",
                ),
            ),
        ),
        ItemSpec(
            key="fl-small-workshops",
            observer=_KUANG,
            kind=SuggestionKind.OPINION,
            domain=_BIZ,
            behalf=Behalf.BUSINESS,
            title="各区县食品小作坊登记标准不统一",
            body=(
                "我区榨菜、米粉小作坊较多。据了解，各区县对小作坊登记的办理条件、"
                "现场核查标准掌握不一，有的要求独立厂房，有的不要求，"
                "跨区县经营的业主无所适从。建议由市级层面统一小作坊登记管理标准。"
            ),
            steps=(
                _step(14, "11:30", A.SUBMIT, _KUANG),
                _step(13, "09:10", A.TAKE, FL_ADMIN_PENG),
                Step(
                    11,
                    "15:00",
                    A.ESCALATE,
                    FL_ADMIN_JIANG,
                    "小作坊登记管理标准由市级统一制定，已报市依法治市办研究，"
                    "收到答复后将及时告知。",
                    to_whom=TO_THE_CITY,
                ),
            ),
        ),
        ItemSpec(
            key="fl-mustard-contracts",
            observer=_KUANG,
            kind=SuggestionKind.PROBLEM,
            domain=_VILLAGES,
            behalf=Behalf.RESIDENTS,
            title="青菜头收购合同不规范，压级压价时有发生",
            body=(
                "每年青菜头收购季，部分收购商和农户只签一页纸的合同，对收购等级、价格、"
                "付款时间约定不清，收购时又以品质不达标为由压级压价，农户吃了亏也拿不出"
                "证据。建议推广青菜头收购合同示范文本，由镇农业服务中心指导签订。"
            ),
            location="马武镇文龙村",
            steps=(
                _step(9, "15:20", A.SUBMIT, _KUANG),
                _step(8, "10:00", A.TAKE, FL_ADMIN_JIANG),
                Step(
                    6,
                    "16:10",
                    A.ADOPT,
                    FL_ADMIN_JIANG,
                    "请区农业农村委制定青菜头收购合同示范文本，在下一个收购季前指导各镇推广使用。",
                    department="FL-AGRI",
                    due_in=25,
                ),
            ),
        ),
        ItemSpec(
            key="fl-fire-lanes",
            observer=_RAN,
            kind=SuggestionKind.PROBLEM,
            domain=_GOV,
            behalf=Behalf.RESIDENTS,
            title="老城区背街小巷乱停车，消防通道被堵",
            body=(
                "兴华中路一带的背街小巷夜间停满车辆，消防通道被占。上个月一户居民家中"
                "起火，消防车开不进来，只能在路口铺水带。建议规划停车位，"
                "在消防通道设置标识并加强巡查。"
            ),
            location="崇义街道兴华中路背街小巷",
            steps=(
                _step(4, "10:30", A.SUBMIT, _RAN),
                _step(3, "09:20", A.TAKE, FL_ADMIN_PENG),
            ),
        ),
        ItemSpec(
            key="fl-zhacai-labels",
            observer=_TAN,
            kind=SuggestionKind.SUGGESTION,
            domain=_BIZ,
            behalf=Behalf.BUSINESS,
            title="建议为榨菜小作坊提供食品标签合规指导",
            body=(
                "不少榨菜小作坊的包装标签配料表不全、生产日期标注不规范，抽检时被责令"
                "整改，但作坊主并不清楚标准要求。建议市场监管部门编印标签样板，"
                "到协会开展集中指导。"
            ),
            steps=(_step(1, "09:40", A.SUBMIT, _TAN),),
        ),
    ),
)

# ---- 黔江区 ------------------------------------------------------------------------------

QJ_ADMIN_TIAN, QJ_ADMIN_XIANG = 7230001, 7230002
QJ_LIAISON_TOURISM, QJ_LIAISON_HOUSING = 7330001, 7330002
_YANG_XQ, _SHI, _GONG = 7130001, 7130002, 7130003

QIANJIANG = OfficeSpec(
    code="QJ",
    name="黔江区 | Qianjiang",
    office="黔江区依法治区办",
    office_en="Qianjiang rule-of-law office",
    group_id=QIANJIANG_GROUP_ID,
    group_title="黔江区依法治区办 · 法治观测点工作群",
    admins=(
        AdminSpec(QJ_ADMIN_TIAN, "田华", "creator"),
        AdminSpec(QJ_ADMIN_XIANG, "向明", "administrator"),
    ),
    points=(
        PointSpec(
            "QJ01",
            "城西街道便民服务中心",
            "Chengxi Subdistrict Service Centre",
            _GOV,
            HostKind.SERVICE_CENTRE,
            "城西街道办事处",
            "城西街道",
            "新华大道西段66号",
        ),
        PointSpec(
            "QJ02",
            "濯水古镇商会",
            "Zhuoshui Ancient Town Chamber of Commerce",
            _BIZ,
            HostKind.CHAMBER_OF_COMMERCE,
            "黔江区濯水古镇商会",
            "濯水镇",
            "濯水古镇廊桥街12号",
        ),
    ),
    departments=(
        DepartmentSpec("QJ-TOURISM", "区文化旅游委", "District Culture and Tourism Commission"),
        DepartmentSpec(
            "QJ-HOUSING",
            "区住房城乡建设委",
            "District Housing and Urban-Rural Development Commission",
        ),
    ),
    liaisons=(
        LiaisonSpec(QJ_LIAISON_TOURISM, "向红梅", "QJ-TOURISM"),
        LiaisonSpec(QJ_LIAISON_HOUSING, "熊伟", "QJ-HOUSING"),
    ),
    observers=(
        _observer(
            _YANG_XQ,
            "杨秀琼",
            _C.PRIVATE_ENTREPRENEUR,
            "QJ02",
            "黔江区濯水古镇商会",
            "在濯水古镇经营民宿八年，商会副会长。",
            applied=True,
        ),
        _observer(
            _SHI,
            "石永红",
            _C.COMMUNITY_STAFF,
            "QJ01",
            "城西街道册山社区居委会",
            "社区居委会主任。",
        ),
        _observer(
            _GONG,
            "龚建",
            _C.FRONTLINE_GOVERNANCE,
            "QJ01",
            "城西街道人民调解委员会",
            "专职人民调解员，会说土家语。",
        ),
    ),
    items=(
        ItemSpec(
            key="qj-homestay-permits",
            observer=_YANG_XQ,
            kind=SuggestionKind.PROBLEM,
            domain=_BIZ,
            behalf=Behalf.BUSINESS,
            title="古镇民宿开办手续多头跑",
            body=(
                "在古镇开民宿，要分别到文旅、公安、消防、市场监管等部门办手续，"
                "各部门的材料又互为前置条件，新开业的业主往往要跑两三个月。"
                "建议梳理民宿开办全流程，推行一窗受理、并联审批。"
            ),
            location="濯水镇濯水古镇",
            steps=(
                _step(22, "10:00", A.SUBMIT, _YANG_XQ),
                _step(21, "09:30", A.TAKE, QJ_ADMIN_TIAN),
                Step(
                    20,
                    "14:00",
                    A.ADOPT,
                    QJ_ADMIN_TIAN,
                    "请区文化旅游委牵头，会同有关部门梳理民宿开办流程，推行一窗受理、并联审批。",
                    department="QJ-TOURISM",
                    due_in=30,
                ),
                _step(19, "10:30", A.ACCEPT, QJ_LIAISON_TOURISM),
                _step(
                    12,
                    "16:00",
                    A.PROGRESS,
                    QJ_LIAISON_TOURISM,
                    "已梳理民宿开办涉及的6个事项，正在与公安、消防部门会商并联审批办法。",
                ),
                _step(
                    5,
                    "11:20",
                    A.PROGRESS,
                    QJ_LIAISON_TOURISM,
                    "区政务服务中心已开设民宿开办综合窗口，试运行两周共受理申请9件。",
                ),
            ),
        ),
        ItemSpec(
            key="qj-riverside-railings",
            observer=_SHI,
            kind=SuggestionKind.PROBLEM,
            domain=_GOV,
            behalf=Behalf.RESIDENTS,
            title="阿蓬江滨江步道护栏多处破损",
            body=(
                "滨江步道册山段有十几处护栏松动、断裂，晚上散步的老人和小孩多，"
                "一旦靠上去就有落水危险。建议尽快修复，修好之前先设置警示标识。"
            ),
            location="城西街道阿蓬江滨江步道（册山段）",
            steps=(
                _step(16, "08:50", A.SUBMIT, _SHI),
                _step(16, "10:15", A.TAKE, QJ_ADMIN_XIANG),
                Step(
                    15,
                    "11:00",
                    A.ADOPT,
                    QJ_ADMIN_TIAN,
                    "请区住房城乡建设委立即设置警示标识，并尽快完成护栏修复。",
                    department="QJ-HOUSING",
                    due_in=10,
                ),
                _step(15, "15:30", A.ACCEPT, QJ_LIAISON_HOUSING),
                _step(
                    7,
                    "17:00",
                    A.MARK_IMPLEMENTED,
                    QJ_LIAISON_HOUSING,
                    "破损护栏已全部更换为不锈钢护栏，共修复120米。",
                ),
            ),
        ),
        ItemSpec(
            key="qj-tujia-mediators",
            observer=_GONG,
            kind=SuggestionKind.SUGGESTION,
            domain=_DISPUTES,
            behalf=Behalf.RESIDENTS,
            title="建议吸收懂土家语的老党员参与村（社区）调解",
            body=(
                "一些上了年纪的土家族群众习惯说土家话，调解时沟通不畅，容易产生误会。"
                "建议村（社区）调解委员会吸收懂土家语、威望高的老党员、老教师参与调解。"
            ),
            steps=(
                _step(11, "09:45", A.SUBMIT, _GONG),
                _step(10, "14:20", A.TAKE, QJ_ADMIN_XIANG),
                _step(
                    8,
                    "16:00",
                    A.KEEP_REFERENCE,
                    QJ_ADMIN_XIANG,
                    "全区村（社区）调解委员会现有调解员1200余名，其中不少会说土家语。"
                    "您的建议留作参考，明年调整调解员队伍时统筹考虑。",
                ),
            ),
        ),
        ItemSpec(
            key="qj-night-market",
            observer=_SHI,
            kind=SuggestionKind.SUGGESTION,
            domain=_BIZ,
            behalf=Behalf.RESIDENTS,
            title="建议在城西片区规范设置夜市摊点",
            body=(
                "城西片区夏季夜间流动摊贩多，占道经营、油烟扰民的投诉不断，"
                "但摊点也确实方便了居民。建议选择合适地段规范设置夜市摊点，统一管理。"
            ),
            steps=(_step(0, "11:00", A.SUBMIT, _SHI),),
        ),
    ),
)

# ---- the city as the demo has it ---------------------------------------------------------

CITY = CHONGQING
# The demo's home office: the sample district, with the code the settings give it.
HOME = WANZHOU
# Every office, the city first, then its districts, the home office first of them.
OFFICES: tuple[OfficeSpec, ...] = (CHONGQING, WANZHOU, FULING, QIANJIANG)
DISTRICTS: tuple[OfficeSpec, ...] = (WANZHOU, FULING, QIANJIANG)

# Everyone the chat page lists: the home district's people first, then the other
# districts', the city's, and the stranger last.
PEOPLE: tuple[Person, ...] = (
    *office_people(WANZHOU),
    *office_people(FULING),
    *office_people(QIANJIANG),
    *office_people(CHONGQING),
    STRANGER_PERSON,
)


def person(user_id: int) -> Person:
    return next(p for p in PEOPLE if p.user_id == user_id)


def office_of(code: str) -> OfficeSpec:
    return next(o for o in OFFICES if o.code == code)
