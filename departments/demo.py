"""The demo province: 浙江省, its 11 cities, districts of 杭州市 and their streets, towns and
townships, departments and their staff."""

from pathlib import Path

from zheliban.accounts.demo import demo_password_hash
from zheliban.accounts.services import staff_user_upsert

from .models import Department, Membership, Region, ServiceLocation
from .services import streets_import, streets_read

PROVINCE = ("330000", "浙江省")
CITIES = (
    ("330100", "杭州市"),
    ("330200", "宁波市"),
    ("330300", "温州市"),
    ("330400", "嘉兴市"),
    ("330500", "湖州市"),
    ("330600", "绍兴市"),
    ("330700", "金华市"),
    ("330800", "衢州市"),
    ("330900", "舟山市"),
    ("331000", "台州市"),
    ("331100", "丽水市"),
)
HANGZHOU_DISTRICTS = (
    ("330102", "上城区"),
    ("330105", "拱墅区"),
    ("330106", "西湖区"),
    ("330108", "滨江区"),
    ("330109", "萧山区"),
    ("330110", "余杭区"),
)

# The real streets, towns and townships of the six districts above, copied unchanged from the
# official division codes (departments/data/README.md), so the demo needs no data folder.
STREETS_CSV = Path(__file__).resolve().parent / "data" / "hangzhou_streets.csv"
# The district whose streets, towns and townships get their offices, and how many of those (the
# first by code) get staff.
STREET_OFFICES_DISTRICT = "330106"
STAFFED_STREETS = 2
STREET_ROLES = (Membership.Role.CLERK, Membership.Role.SUPERVISOR)

K = Department.Kind
# kind: (province name, city name pattern, district name pattern)
DEPARTMENT_NAMES = {
    K.PUBLIC_SECURITY: ("浙江省公安厅", "{city}公安局", "{city}公安局{district}分局"),
    K.HEALTH: ("浙江省卫生健康委员会", "{city}卫生健康委员会", "{district}卫生健康局"),
    K.HUMAN_RESOURCES: (
        "浙江省人力资源和社会保障厅",
        "{city}人力资源和社会保障局",
        "{district}人力资源和社会保障局",
    ),
    K.MEDICAL_INSURANCE: ("浙江省医疗保障局", "{city}医疗保障局", "{city}医疗保障局{district}分局"),
    K.MARKET_REGULATION: (
        "浙江省市场监督管理局",
        "{city}市场监督管理局",
        "{city}{district}市场监督管理局",
    ),
    K.TAXATION: (
        "国家税务总局浙江省税务局",
        "国家税务总局{city}税务局",
        "国家税务总局{city}{district}税务局",
    ),
    K.CIVIL_AFFAIRS: ("浙江省民政厅", "{city}民政局", "{district}民政局"),
    K.NATURAL_RESOURCES: (
        "浙江省自然资源厅",
        "{city}规划和自然资源局",
        "{city}规划和自然资源局{district}分局",
    ),
    K.HOUSING: ("浙江省住房和城乡建设厅", "{city}住房和城乡建设局", "{district}住房和城乡建设局"),
    K.ECOLOGY: ("浙江省生态环境厅", "{city}生态环境局", "{city}生态环境局{district}分局"),
    K.TRANSPORT: ("浙江省交通运输厅", "{city}交通运输局", "{district}交通运输局"),
    K.EDUCATION: ("浙江省教育厅", "{city}教育局", "{district}教育局"),
    K.COMMERCE: ("浙江省商务厅", "{city}商务局", "{district}商务局"),
    K.SERVICE_CENTRE: ("浙江省政务服务中心", "{city}民情服务中心", "{district}政务服务中心"),
    # The complaints desk (12345) answers for the province and each city, not for districts.
    K.HOTLINE: ("浙江省12345政务服务便民热线", "{city}12345政务服务便民热线", None),
}

# Staff in every role for the departments of 杭州市 and 西湖区, the ones the demo walks through.
STAFFED_REGIONS = ("330100", "330106")
ROLES = (
    Membership.Role.CLERK,
    Membership.Role.SUPERVISOR,
    Membership.Role.DISPATCHER,
    Membership.Role.ADMIN,
)
ROLE_NAMES = {"clerk": "窗口", "supervisor": "科长", "dispatcher": "派单员", "admin": "管理员"}


def _region(code, name, level, parent=None) -> Region:
    region, _created = Region.objects.update_or_create(
        code=code, defaults={"name": name, "level": level, "parent": parent}
    )
    return region


def _department(region: Region, kind: str, name: str, address: str = "") -> Department:
    department, _created = Department.objects.update_or_create(
        code=f"{region.code}-{kind}",
        defaults={
            "name": name,
            "kind": kind,
            "region": region,
            "phone": "12345",
            "complaint_phone": "12345",
            "address": address or f"{region.name}民生服务中心",
        },
    )
    return department


def street_office_name(street: str) -> str:
    """A street's office is its 街道办事处; a town's or township's, its people's government."""
    return f"{street}人民政府" if street.endswith(("镇", "乡")) else f"{street}办事处"


def _staff(department: Department, roles) -> None:
    for role in roles:
        user = staff_user_upsert(
            username=f"{department.code}-{role}",
            password_hash=demo_password_hash(),
            real_name=f"{department.name}{ROLE_NAMES[role]}",
        )
        Membership.objects.get_or_create(user=user, department=department, role=role)


def _street_offices() -> list[Department]:
    """The two offices of every street, town and township of the district: its 街道办事处 (or
    乡镇人民政府) and its 综合行政执法队."""
    streets = Region.objects.filter(
        level=Region.Level.STREET, parent__code=STREET_OFFICES_DISTRICT
    ).order_by("code")
    offices: list[Department] = []
    for street in streets:
        hall = f"{street.name}便民服务中心"
        offices.append(_department(street, K.STREET_OFFICE, street_office_name(street.name), hall))
        offices.append(_department(street, K.ENFORCEMENT, f"{street.name}综合行政执法队", hall))
    return offices


def seed(*, stdout) -> None:
    province = _region(*PROVINCE, Region.Level.PROVINCE)
    cities = [_region(code, name, Region.Level.CITY, province) for code, name in CITIES]
    hangzhou = cities[0]
    districts = [
        _region(code, name, Region.Level.COUNTY, hangzhou) for code, name in HANGZHOU_DISTRICTS
    ]
    streets = streets_import(streets_read(STREETS_CSV))

    departments: list[Department] = []
    for kind, (province_name, city_name, district_name) in DEPARTMENT_NAMES.items():
        departments.append(_department(province, kind, province_name))
        for city in cities:
            departments.append(_department(city, kind, city_name.format(city=city.name)))
        for district in districts if district_name else ():
            departments.append(
                _department(
                    district, kind, district_name.format(city=hangzhou.name, district=district.name)
                )
            )

    for department in departments:
        if department.kind in (K.SERVICE_CENTRE, K.PUBLIC_SECURITY, K.CIVIL_AFFAIRS):
            ServiceLocation.objects.update_or_create(
                department=department,
                name=f"{department.region.name}民生服务中心窗口",
                defaults={
                    "address": f"{department.region.name}民生服务中心一楼",
                    "windows": "1-12号窗口",
                    "opening_hours": "工作日 9:00-12:00, 13:30-17:00；周六上午 9:00-12:00",
                    "phone": "12345",
                },
            )

    street_offices = _street_offices()

    staffed = [d for d in departments if d.region.code in STAFFED_REGIONS]
    for department in staffed:
        _staff(department, ROLES)
    staffed_streets = sorted({d.region.code for d in street_offices})[:STAFFED_STREETS]
    for department in street_offices:
        if department.region.code in staffed_streets:
            _staff(department, STREET_ROLES)
    # A counter clerk (一窗受理) at each staffed government service centre.
    for department in staffed:
        if department.kind == K.SERVICE_CENTRE:
            user = staff_user_upsert(
                username=f"{department.code}-counter",
                password_hash=demo_password_hash(),
                real_name=f"{department.name}综合窗口",
            )
            Membership.objects.get_or_create(
                user=user, department=department, role=Membership.Role.COUNTER
            )

    stdout.write(
        f"Regions: {Region.objects.count()} (streets, towns and townships: "
        f"{streets['created']} new, {streets['updated']} updated, "
        f"{streets['unchanged']} unchanged), departments: {Department.objects.count()} "
        f"({len(street_offices)} street offices), staff memberships: "
        f"{Membership.objects.count()}"
    )


def login_help() -> list[str]:
    return [
        "Staff log in as <department code>-<role>, e.g. 330106-gongan-clerk, "
        "330100-renshe-supervisor, 330100-zhengwu-dispatcher, 330106-weijian-admin.",
        "Counter clerks (一窗受理) of the service centres: 330106-zhengwu-counter, "
        "330100-zhengwu-counter.",
        "Street offices of 西湖区 (北山街道, 西溪街道): 330106002-jiedao-clerk, "
        "330106002-zhifa-supervisor, 330106004-jiedao-supervisor, 330106004-zhifa-clerk ...",
    ]
