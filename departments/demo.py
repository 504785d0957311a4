"""The demo province: 浙江省, its 11 cities, districts of 杭州市, departments and their staff."""

from zheliban.accounts.demo import demo_password_hash
from zheliban.accounts.services import staff_user_upsert

from .models import Department, Membership, Region, ServiceLocation

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


def _department(region: Region, kind: str, name: str) -> Department:
    department, _created = Department.objects.update_or_create(
        code=f"{region.code}-{kind}",
        defaults={
            "name": name,
            "kind": kind,
            "region": region,
            "phone": "12345",
            "complaint_phone": "12345",
            "address": f"{region.name}民生服务中心",
        },
    )
    return department


def seed(*, stdout) -> None:
    province = _region(*PROVINCE, Region.Level.PROVINCE)
    cities = [_region(code, name, Region.Level.CITY, province) for code, name in CITIES]
    hangzhou = cities[0]
    districts = [
        _region(code, name, Region.Level.COUNTY, hangzhou) for code, name in HANGZHOU_DISTRICTS
    ]

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

    staffed = [d for d in departments if d.region.code in STAFFED_REGIONS]
    for department in staffed:
        for role in ROLES:
            username = f"{department.code}-{role}"
            user = staff_user_upsert(
                username=username,
                password_hash=demo_password_hash(),
                real_name=f"{department.name}{ROLE_NAMES[role]}",
            )
            Membership.objects.get_or_create(user=user, department=department, role=role)
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
        f"Regions: {Region.objects.count()}, departments: {Department.objects.count()}, "
        f"staff memberships: {Membership.objects.count()}"
    )


def login_help() -> list[str]:
    return [
        "Staff log in as <department code>-<role>, e.g. 330106-gongan-clerk, "
        "330100-renshe-supervisor, 330100-zhengwu-dispatcher, 330106-weijian-admin.",
        "Counter clerks (一窗受理) of the service centres: 330106-zhengwu-counter, "
        "330100-zhengwu-counter.",
    ]
