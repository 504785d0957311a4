"""The demo province's catalog: realistic 浙江 service items, themes and bundles (一件事).

Seeding is idempotent. Items are keyed on their implementation code; an item is published through
``item_publish`` (a new version) only when it is new or its content differs from what is seeded
here, so a second run writes nothing at all.

Implementation codes follow the national shape of the real ones (as in the Guangdong feed): the
implementing body's unified social credit code (18 characters, with a valid check character), one
digit for its level, then a 12-digit basic code: province 33, item type, department kind, a
sequence number and a sub-item number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from departments.models import Department, Region
from zheliban.core.identity import uscc_check_char

from .models import Audience, Bundle, BundleItem, LifeEvent, Material, ServiceItem, Theme
from .services import item_publish

T = ServiceItem.ItemType
APPLICANT, ISSUED, SHARED = (
    Material.Source.APPLICANT,
    Material.Source.ISSUED,
    Material.Source.SHARED,
)
ORIGINAL, COPY, ELECTRONIC = Material.Form.ORIGINAL, Material.Form.COPY, Material.Form.ELECTRONIC

SEED_NOTE = "demo seed"
SOURCE = "demo"
SHARED_NOTE = "通过数据共享获取，无需提交"
HOTLINE = "0571-12345"

# Fixed numbers for the code scheme; never reorder them, codes must stay stable.
TYPE_NUMBERS = {
    T.LICENSING: "01",
    T.BENEFIT: "05",
    T.CONFIRMATION: "07",
    T.AWARD: "08",
    T.ADJUDICATION: "09",
    T.OTHER_POWER: "10",
    T.FILING: "11",
    T.PUBLIC_SERVICE: "20",
}
KIND_NUMBERS = {
    "gongan": "01",
    "weijian": "02",
    "renshe": "03",
    "yibao": "04",
    "shichang": "05",
    "shuiwu": "06",
    "minzheng": "07",
    "ziran": "08",
    "zhujian": "09",
    "shengtai": "10",
    "jiaotong": "11",
    "jiaoyu": "12",
    "shangwu": "13",
    "zhengwu": "14",
}
# The national service hotlines each kind of department answers on.
KIND_PHONES = {
    "weijian": "0571-12320",
    "renshe": "0571-12333",
    "yibao": "0571-12393",
    "shichang": "0571-12315",
    "shuiwu": "0571-12366",
    "shengtai": "0571-12369",
    "jiaotong": "0571-12328",
}
FUND_PHONE = "0571-12329"  # 住房公积金 hotline

THEMES = (
    # slug, name, English name, audience
    ("birth-adoption", "生育收养", "Birth and adoption", Audience.CITIZEN),
    ("household", "户籍办理", "Household registration", Audience.CITIZEN),
    ("identity-documents", "证件办理", "Identity documents", Audience.CITIZEN),
    ("exit-entry", "出境入境", "Exit and entry", Audience.CITIZEN),
    ("marriage", "婚姻登记", "Marriage registration", Audience.CITIZEN),
    ("education", "教育科研", "Education", Audience.CITIZEN),
    ("employment", "就业创业", "Employment and entrepreneurship", Audience.BOTH),
    ("social-security", "社会保障", "Social security", Audience.BOTH),
    ("health", "医疗卫生", "Health care", Audience.BOTH),
    ("housing", "住房保障", "Housing", Audience.CITIZEN),
    ("transport", "交通出行", "Transport", Audience.BOTH),
    ("retirement", "离职退休", "Retirement", Audience.CITIZEN),
    ("funeral", "死亡殡葬", "Death and funeral", Audience.CITIZEN),
    ("qualifications", "职业资格", "Professional qualifications", Audience.CITIZEN),
    ("business-registration", "设立变更", "Business registration", Audience.ENTERPRISE),
    ("operating-permits", "准营准办", "Operating permits", Audience.ENTERPRISE),
    ("tax", "税收财务", "Tax and finance", Audience.ENTERPRISE),
    ("environment", "环保绿化", "Environment", Audience.BOTH),
    ("construction", "规划建设", "Planning and construction", Audience.ENTERPRISE),
)

# The form fields items ask for. Items of one bundle share names, so the bundle asks each once.
FIELDS: dict[str, tuple[str, str]] = {
    "applicant_name": ("申请人姓名", "text"),
    "applicant_id_number": ("申请人身份证号码", "id_number"),
    "contact_phone": ("联系电话", "phone"),
    "mailing_address": ("证件邮寄地址", "text"),
    "residence_address": ("居住地址", "text"),
    "employer_name": ("工作单位", "text"),
    "bank_name": ("开户银行", "text"),
    "bank_account": ("银行账号", "text"),
    "baby_name": ("新生儿姓名", "text"),
    "baby_gender": ("新生儿性别", "choice"),
    "birth_date": ("出生日期", "date"),
    "birth_hospital": ("出生医院", "text"),
    "mother_name": ("母亲姓名", "text"),
    "mother_id_number": ("母亲身份证号码", "id_number"),
    "father_name": ("父亲姓名", "text"),
    "father_id_number": ("父亲身份证号码", "id_number"),
    "hukou_address": ("申报户口地址", "text"),
    "partner_name": ("对方姓名", "text"),
    "partner_id_number": ("对方身份证号码", "id_number"),
    "child_name": ("学生姓名", "text"),
    "child_id_number": ("学生身份证号码", "id_number"),
    "deceased_name": ("逝者姓名", "text"),
    "deceased_id_number": ("逝者身份证号码", "id_number"),
    "death_date": ("死亡日期", "date"),
    "relationship": ("申请人与逝者关系", "text"),
    "licence_class": ("准驾车型", "choice"),
    "last_employer": ("原工作单位", "text"),
    "destination": ("就医地（省、市）", "text"),
    "filing_start_date": ("备案开始日期", "date"),
    "rental_address": ("租赁住房地址", "text"),
    "property_address": ("不动产坐落", "text"),
    "property_cert_no": ("不动产权证书号", "text"),
    "inquiry_purpose": ("查询用途", "text"),
    "disability_cert_no": ("残疾人证号", "text"),
    "practice_institution": ("拟执业机构", "text"),
    "practice_category": ("执业类别和范围", "text"),
    "company_name": ("企业名称", "text"),
    "company_type": ("企业类型", "choice"),
    "credit_code": ("统一社会信用代码", "uscc"),
    "registered_address": ("住所（经营场所）", "text"),
    "registered_capital": ("注册资本（万元）", "number"),
    "business_scope": ("经营范围", "textarea"),
    "legal_rep_name": ("法定代表人姓名", "text"),
    "legal_rep_id_number": ("法定代表人身份证号码", "id_number"),
    "seal_types": ("刻制印章种类", "text"),
    "invoice_types": ("申领发票种类", "text"),
    "employee_count": ("职工人数", "number"),
    "deposit_ratio": ("住房公积金缴存比例（%）", "number"),
    "change_items": ("变更事项", "textarea"),
    "close_reason": ("注销原因", "text"),
    "vehicle_count": ("营运车辆数", "number"),
    "pollutants": ("主要污染物种类", "text"),
    "waste_types": ("经营危险废物类别", "text"),
    "project_name": ("工程名称", "text"),
    "project_address": ("工程地址", "text"),
    "contract_price": ("合同价格（万元）", "number"),
    "business_items": ("经营项目", "text"),
}
CHOICES = {
    "baby_gender": ["男", "女"],
    "licence_class": ["C1 小型汽车", "C2 小型自动挡汽车", "D 普通三轮摩托车", "E 普通二轮摩托车"],
    "company_type": ["有限责任公司", "股份有限公司", "个人独资企业", "合伙企业"],
}


def form_fields(*names: str) -> list[dict[str, Any]]:
    """Field definitions by name; a trailing ``?`` marks one optional."""
    fields = []
    for raw in names:
        name = raw.rstrip("?")
        label, kind = FIELDS[name]
        field: dict[str, Any] = {
            "name": name,
            "label": label,
            "type": kind,
            "required": not raw.endswith("?"),
        }
        if name in CHOICES:
            field["choices"] = CHOICES[name]
        fields.append(field)
    return fields


def mat(
    name: str,
    source: str = APPLICANT,
    *,
    form: str | None = None,
    issuer: str | None = None,
    required: bool = True,
    copies: int = 1,
    note: str = "",
) -> dict[str, Any]:
    """A material; ``issuer`` is a department code, resolved when seeding."""
    if source == SHARED and not note:
        note = SHARED_NOTE
    return {
        "name": name,
        "source": source,
        "form": form or (ORIGINAL if source == ISSUED else ELECTRONIC),
        "required": required,
        "copies": copies,
        "note": note,
        "issuer": issuer,
    }


ID_CARD = mat("居民身份证", form=ORIGINAL, note="网上办理时通过实名认证核验，无需上传")


@dataclass(frozen=True)
class ItemSpec:
    key: str
    seq: int
    department: str
    name: str
    item_type: str
    summary: str
    conditions: str
    legal_basis: str
    statutory_days: int | None
    promised_days: int | None
    materials: tuple[dict[str, Any], ...]
    fields: tuple[str, ...]
    themes: tuple[str, ...]
    life_events: tuple[str, ...]
    popularity: int
    sub: int = 0
    main_name: str = ""
    sub_name: str = ""
    for_citizens: bool = True
    for_enterprises: bool = False
    trips: int = 0
    online: bool = True
    mobile: bool = True
    counter: bool = True
    courier: bool = False
    appointment: bool = False
    id_only: bool = False
    fee_fen: int = 0
    fee_note: str = ""
    consult_phone: str = ""
    location: str = ""

    @property
    def region_code(self) -> str:
        return self.department.split("-", 1)[0]

    @property
    def kind(self) -> str:
        return self.department.split("-", 1)[1]

    @property
    def basic_code(self) -> str:
        return (
            f"33{TYPE_NUMBERS[self.item_type]}{KIND_NUMBERS[self.kind]}{self.seq:03d}{self.sub:03d}"
        )

    @property
    def main_code(self) -> str:
        return self.basic_code[:-3] + "000" if self.sub else ""

    @property
    def code(self) -> str:
        region = self.region_code
        level = "1" if region.endswith("0000") else "2" if region.endswith("00") else "3"
        return department_credit_code(self.department) + level + self.basic_code


def department_credit_code(department_code: str) -> str:
    """A stable, well-formed unified social credit code for a demo department (11 = 机关)."""
    digest = int(hashlib.sha256(department_code.encode()).hexdigest(), 16)
    first17 = f"11{department_code[:6]}{digest % 10**9:09d}"
    return first17 + uscc_check_char(first17)


ITEMS: tuple[ItemSpec, ...] = (
    # ----- 新生儿出生一件事 -------------------------------------------------------------------
    ItemSpec(
        key="birth_certificate",
        seq=1,
        department="330100-weijian",
        name="出生医学证明办理",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "在本省助产机构出生的新生儿，由出生医院签发《出生医学证明》；"
            "证明同步生成电子证照，户籍、社保、医保部门共享使用。"
        ),
        conditions=(
            "（一）新生儿在浙江省内具有助产技术服务资质的医疗保健机构出生；\n"
            "（二）父母双方或一方提供有效身份证件；\n"
            "（三）新生儿姓名已确定。"
        ),
        legal_basis="《中华人民共和国母婴保健法》第二十三条；《中华人民共和国母婴保健法实施办法》",
        statutory_days=None,
        promised_days=1,
        materials=(
            mat("父母双方居民身份证", form=ORIGINAL),
            mat("新生儿住院分娩信息", SHARED, issuer="330100-weijian"),
            mat(
                "出生医学证明首次签发登记表",
                ISSUED,
                issuer="330100-weijian",
                note="线上申请时自动生成",
            ),
        ),
        fields=(
            "baby_name",
            "baby_gender",
            "birth_date",
            "birth_hospital",
            "mother_name",
            "mother_id_number",
            "father_name?",
            "father_id_number?",
            "contact_phone",
        ),
        themes=("birth-adoption", "health"),
        life_events=("birth",),
        popularity=6200,
        courier=True,
        location="新生儿出生医院出生医学证明签发窗口",
    ),
    ItemSpec(
        key="birth_hukou",
        seq=2,
        department="330100-gongan",
        name="出生登记（户口登记）",
        item_type=T.CONFIRMATION,
        summary=(
            "为新生儿申报出生户口登记，登记后即取得公民身份号码；"
            "《出生医学证明》通过数据共享核验，无需提交纸质件。"
        ),
        conditions=(
            "（一）新生儿出生后一个月内申报，逾期的可补办；\n"
            "（二）随父或随母在其常住户口所在地落户，父母至少一方为本市户籍。"
        ),
        legal_basis=(
            "《中华人民共和国户口登记条例》第七条；"
            "《国务院关于进一步推进户籍制度改革的意见》（国发〔2014〕25号）"
        ),
        statutory_days=5,
        promised_days=1,
        materials=(
            mat("出生医学证明", SHARED, issuer="330100-weijian"),
            mat("父母居民身份证", form=ORIGINAL),
            mat("落户方居民户口簿", SHARED, issuer="330100-gongan"),
            mat("父母结婚证", SHARED, issuer="330100-minzheng", required=False),
        ),
        fields=(
            "baby_name",
            "baby_gender",
            "birth_date",
            "mother_name",
            "mother_id_number",
            "father_name?",
            "father_id_number?",
            "hukou_address",
            "contact_phone",
        ),
        themes=("household", "birth-adoption"),
        life_events=("birth",),
        popularity=8600,
        courier=True,
        id_only=True,
    ),
    ItemSpec(
        key="newborn_social_card",
        seq=3,
        sub=2,
        department="330100-renshe",
        name="新生儿社会保障卡申领",
        main_name="社会保障卡申领",
        sub_name="新生儿申领",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "新生儿落户后为其申领第三代社会保障卡，具备身份凭证、就医结算、待遇领取等功能；"
            "照片由监护人线上上传，卡片邮寄到家。"
        ),
        conditions="新生儿已在本市办理出生户口登记并取得公民身份号码，尚未持有社会保障卡。",
        legal_basis=(
            "《中华人民共和国社会保险法》第五十八条；"
            "《社会保险个人权益记录管理办法》（人力资源和社会保障部令第14号）"
        ),
        statutory_days=20,
        promised_days=3,
        materials=(
            mat("新生儿户籍信息", SHARED, issuer="330100-gongan"),
            mat("新生儿近期免冠彩色照片", note="可在浙里办拍摄上传"),
            mat("监护人居民身份证", form=ORIGINAL),
        ),
        fields=("baby_name", "mother_id_number", "mailing_address", "contact_phone"),
        themes=("social-security", "birth-adoption"),
        life_events=("birth",),
        popularity=4900,
        courier=True,
        id_only=True,
    ),
    ItemSpec(
        key="newborn_insurance",
        seq=4,
        department="330100-yibao",
        name="新生儿城乡居民基本医疗保险参保登记",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "为新生儿办理城乡居民医保参保登记；出生后三个月内参保缴费的，自出生之日起享受医保待遇。"
        ),
        conditions="新生儿已办理本市户口登记，或父母一方在本市参加基本医疗保险。",
        legal_basis=(
            "《中华人民共和国社会保险法》第二十五条；"
            "《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）"
        ),
        statutory_days=5,
        promised_days=1,
        materials=(
            mat("出生医学证明", SHARED, issuer="330100-weijian"),
            mat("新生儿户籍信息", SHARED, issuer="330100-gongan"),
            mat("监护人居民身份证", form=ORIGINAL),
        ),
        fields=("baby_name", "baby_gender", "birth_date", "mother_id_number", "contact_phone"),
        themes=("social-security", "health"),
        life_events=("birth",),
        popularity=5300,
        id_only=True,
        fee_note="参保登记不收费；个人缴费按当年度城乡居民医保筹资标准缴纳。",
    ),
    ItemSpec(
        key="vaccination_certificate",
        seq=5,
        department="330100-weijian",
        name="预防接种证办理",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "儿童出生后一个月内由监护人为其办理预防接种证，接种记录电子化，"
            "可在浙里办随时查询接种记录和下次接种时间。"
        ),
        conditions="在本市居住的0至6周岁儿童。",
        legal_basis="《中华人民共和国疫苗管理法》第四十七条",
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("出生医学证明", SHARED, issuer="330100-weijian"),
            mat("新生儿乙肝疫苗和卡介苗首针接种记录", SHARED, issuer="330100-weijian"),
            mat("监护人居民身份证", form=ORIGINAL),
        ),
        fields=("baby_name", "baby_gender", "birth_date", "residence_address", "contact_phone"),
        themes=("health", "birth-adoption"),
        life_events=("birth",),
        popularity=3800,
        location="居住地社区卫生服务中心预防接种门诊，或新生儿出生医院",
    ),
    # ----- 企业开办一件事 ---------------------------------------------------------------------
    ItemSpec(
        key="company_register",
        seq=6,
        department="330100-shichang",
        name="企业设立登记",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "申请设立有限责任公司、个人独资企业、合伙企业等，核发营业执照和电子营业执照；"
            "通过浙江省企业开办“一网通办”平台全程网上办理。"
        ),
        conditions=(
            "（一）企业名称符合《企业名称登记管理规定》；\n"
            "（二）住所（经营场所）真实、合法；\n"
            "（三）股东、法定代表人符合法律法规规定的任职资格；\n"
            "（四）经营范围按经营范围规范表述目录选择。"
        ),
        legal_basis=(
            "《中华人民共和国公司法》；《中华人民共和国市场主体登记管理条例》第十九条；"
            "《中华人民共和国市场主体登记管理条例实施细则》"
        ),
        statutory_days=3,
        promised_days=1,
        materials=(
            mat("公司登记（备案）申请书", note="网上填报后自动生成"),
            mat("公司章程"),
            mat("股东主体资格证明"),
            mat("法定代表人、董事、监事和经理的任职文件"),
            mat("住所（经营场所）使用证明", note="不动产权属信息可共享核验的，无需提交"),
        ),
        fields=(
            "company_name",
            "company_type",
            "registered_address",
            "registered_capital",
            "business_scope",
            "legal_rep_name",
            "legal_rep_id_number",
            "contact_phone",
        ),
        themes=("business-registration",),
        life_events=("company-start",),
        popularity=7400,
        courier=True,
    ),
    ItemSpec(
        key="seal_filing",
        seq=7,
        department="330100-gongan",
        name="公章刻制备案",
        item_type=T.FILING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "企业刻制公章、财务专用章、发票专用章和法定代表人名章，由刻章企业向公安机关备案；"
            "新开办企业首套印章免费刻制，可与营业执照一并寄递。"
        ),
        conditions="已领取营业执照的企业；刻章企业具有特种行业许可。",
        legal_basis=(
            "《印铸刻字业暂行管理规则》；《国务院关于国家行政机关和企业事业单位社会团体"
            "印章管理的规定》（国发〔1999〕25号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("营业执照", SHARED, issuer="330100-shichang"),
            mat("法定代表人居民身份证", form=ORIGINAL),
            mat("印章刻制申请表", note="企业开办时自动生成"),
        ),
        fields=(
            "company_name",
            "legal_rep_name",
            "legal_rep_id_number",
            "seal_types",
            "contact_phone",
        ),
        themes=("business-registration",),
        life_events=("company-start",),
        popularity=5100,
        courier=True,
        fee_note="新开办企业首套印章（公章、财务专用章、发票专用章、法定代表人名章）免费刻制。",
    ),
    ItemSpec(
        key="new_taxpayer",
        seq=8,
        department="330100-shuiwu",
        name="新办纳税人“套餐式”服务（发票申领）",
        item_type=T.PUBLIC_SERVICE,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "新办企业一次办结登记信息确认、办税人员实名采集、税种核定、发票票种核定和发票申领"
            "等涉税事项，当天即可开具发票。"
        ),
        conditions="已领取营业执照的新办纳税人。",
        legal_basis=(
            "《中华人民共和国税收征收管理法》第十五条；《中华人民共和国发票管理办法》；"
            "《税务登记管理办法》"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("营业执照", SHARED, issuer="330100-shichang"),
            mat("办税人员居民身份证", form=ORIGINAL),
            mat("财务会计制度或财务会计核算软件备案材料", required=False),
        ),
        fields=(
            "company_name",
            "legal_rep_name",
            "legal_rep_id_number",
            "invoice_types",
            "contact_phone",
        ),
        themes=("tax",),
        life_events=("company-start",),
        popularity=4600,
        courier=True,
    ),
    ItemSpec(
        key="employer_insurance",
        seq=9,
        department="330100-renshe",
        name="单位参保登记",
        item_type=T.PUBLIC_SERVICE,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "用人单位自成立之日起三十日内办理社会保险登记，为职工参加养老、失业和工伤保险；"
            "企业开办时登记信息自动推送，无需另行提交。"
        ),
        conditions="在本市依法设立的企业、个体经济组织和民办非企业单位等用人单位。",
        legal_basis="《中华人民共和国社会保险法》第五十七条；《社会保险费征缴暂行条例》",
        statutory_days=15,
        promised_days=0,
        materials=(
            mat("营业执照", SHARED, issuer="330100-shichang"),
            mat("单位银行开户信息"),
        ),
        fields=(
            "company_name",
            "legal_rep_name",
            "employee_count",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("social-security", "employment"),
        life_events=("company-start",),
        popularity=3900,
    ),
    ItemSpec(
        key="fund_account",
        seq=10,
        department="330100-zhujian",
        name="住房公积金单位缴存登记（单位开户）",
        item_type=T.PUBLIC_SERVICE,
        for_citizens=False,
        for_enterprises=True,
        summary="新设立单位办理住房公积金缴存登记，并为职工设立个人账户；可与企业开办同步办理。",
        conditions="在本市设立的单位，自设立之日起三十日内办理缴存登记。",
        legal_basis="《住房公积金管理条例》第十四条、第十五条",
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("营业执照", SHARED, issuer="330100-shichang"),
            mat("住房公积金单位缴存登记表", note="网上填报后自动生成"),
            mat("经办人居民身份证", form=ORIGINAL),
        ),
        fields=(
            "company_name",
            "legal_rep_name",
            "employee_count",
            "deposit_ratio",
            "contact_phone",
        ),
        themes=("housing",),
        life_events=("company-start",),
        popularity=3400,
        consult_phone=FUND_PHONE,
        location="杭州住房公积金管理中心各管理部服务大厅",
    ),
    # ----- 退休一件事 -------------------------------------------------------------------------
    ItemSpec(
        key="retirement_pension",
        seq=11,
        department="330100-renshe",
        name="职工退休申请（基本养老金申领）",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "参加企业职工基本养老保险的人员达到法定退休年龄、累计缴费满十五年的，"
            "申请办理退休并按月领取基本养老金，养老金发放至社会保障卡。"
        ),
        conditions=(
            "（一）达到法定退休年龄，按渐进式延迟法定退休年龄的规定执行；\n"
            "（二）基本养老保险累计缴费年限符合国家规定。"
        ),
        legal_basis=(
            "《中华人民共和国社会保险法》第十六条；"
            "《国务院关于完善企业职工基本养老保险制度的决定》（国发〔2005〕38号）；"
            "《全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定》"
        ),
        statutory_days=20,
        promised_days=3,
        materials=(
            ID_CARD,
            mat("基本养老保险参保缴费记录", SHARED, issuer="330100-renshe"),
            mat("职工人事档案", ISSUED, note="由档案保管机构提供，个人无需调取"),
            mat("社会保障卡（金融账户已激活）", SHARED, issuer="330100-renshe"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "employer_name",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("retirement", "social-security"),
        life_events=("retirement",),
        popularity=5800,
        id_only=True,
    ),
    ItemSpec(
        key="retiree_medical",
        seq=12,
        department="330100-yibao",
        name="职工基本医疗保险退休人员待遇核定",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "职工退休时核定职工医保累计缴费年限，符合规定年限的，退休后不再缴纳基本医疗保险费，"
            "按退休人员标准享受医保待遇；不足年限的可申请一次性补缴。"
        ),
        conditions="已办理退休手续，参加本市职工基本医疗保险。",
        legal_basis="《中华人民共和国社会保险法》第二十七条",
        statutory_days=10,
        promised_days=1,
        materials=(
            ID_CARD,
            mat("退休审批信息", SHARED, issuer="330100-renshe"),
            mat("职工医保参保缴费记录", SHARED, issuer="330100-yibao"),
        ),
        fields=("applicant_name", "applicant_id_number", "contact_phone"),
        themes=("retirement", "health"),
        life_events=("retirement",),
        popularity=3600,
        id_only=True,
    ),
    ItemSpec(
        key="fund_retirement_withdrawal",
        seq=13,
        sub=1,
        department="330100-zhujian",
        name="住房公积金提取（离休、退休）",
        main_name="住房公积金提取",
        sub_name="离休、退休提取",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "职工离休、退休的，可一次性提取住房公积金账户全部余额并销户，资金转入本人银行账户。"
        ),
        conditions="已办理离休、退休手续的缴存职工。",
        legal_basis="《住房公积金管理条例》第二十四条、第二十五条",
        statutory_days=3,
        promised_days=0,
        materials=(
            ID_CARD,
            mat("退休审批信息", SHARED, issuer="330100-renshe"),
            mat("本人银行借记卡"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("housing", "retirement"),
        life_events=("retirement", "housing"),
        popularity=4300,
        id_only=True,
        consult_phone=FUND_PHONE,
        location="杭州住房公积金管理中心各管理部服务大厅",
    ),
    ItemSpec(
        key="senior_card",
        seq=14,
        department="330100-minzheng",
        name="浙江省老年人优待证办理",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "为年满六十周岁的老年人办理优待证，凭证享受公共交通、公园景区等优待服务；"
            "可同时领取电子优待证。"
        ),
        conditions="年满六十周岁、在本市居住的老年人，含非本市户籍的常住老年人。",
        legal_basis="《中华人民共和国老年人权益保障法》；《浙江省老年人权益保障条例》",
        statutory_days=None,
        promised_days=0,
        materials=(
            ID_CARD,
            mat(
                "本人近期免冠照片",
                SHARED,
                issuer="330100-gongan",
                note="调用公安制证照片，无需提交",
            ),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address?", "contact_phone"),
        themes=("retirement", "social-security"),
        life_events=("retirement",),
        popularity=2700,
        courier=True,
        id_only=True,
    ),
    # ----- 身后一件事 -------------------------------------------------------------------------
    ItemSpec(
        key="death_certificate",
        seq=15,
        department="330100-weijian",
        name="居民死亡医学证明（推断）书办理",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "居民在医疗机构或家中、养老机构等死亡的，"
            "由医疗卫生机构出具《居民死亡医学证明（推断）书》，"
            "死亡信息同步共享至公安、民政、人社和医保部门。"
        ),
        conditions="死亡原因明确，或经调查后能够推断死亡原因的正常死亡。",
        legal_basis="《人口死亡医学证明和信息登记管理暂行办法》（国卫规划发〔2013〕57号）",
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("逝者居民身份证", form=ORIGINAL),
            mat("申请人（家属）居民身份证", form=ORIGINAL),
            mat("门急诊或住院病历", ISSUED, required=False, note="在家中死亡的提供"),
        ),
        fields=(
            "deceased_name",
            "deceased_id_number",
            "death_date",
            "applicant_name",
            "applicant_id_number",
            "relationship",
            "contact_phone",
        ),
        themes=("funeral", "health"),
        life_events=("bereavement",),
        popularity=1500,
        trips=1,
        online=False,
        mobile=False,
        location="逝者死亡所在医疗机构，或居住地社区卫生服务中心",
    ),
    ItemSpec(
        key="death_hukou",
        seq=16,
        department="330100-gongan",
        name="死亡户口注销",
        item_type=T.CONFIRMATION,
        summary="公民死亡后由家属申报死亡登记、注销户口；死亡医学证明信息已共享的，家属无需到场。",
        conditions="逝者为本市常住户口。",
        legal_basis="《中华人民共和国户口登记条例》第八条",
        statutory_days=5,
        promised_days=0,
        materials=(
            mat("居民死亡医学证明（推断）书", SHARED, issuer="330100-weijian"),
            mat("逝者居民户口簿", SHARED, issuer="330100-gongan"),
            mat("申报人居民身份证", form=ORIGINAL),
        ),
        fields=(
            "deceased_name",
            "deceased_id_number",
            "death_date",
            "applicant_name",
            "applicant_id_number",
            "relationship",
            "contact_phone",
        ),
        themes=("household", "funeral"),
        life_events=("bereavement",),
        popularity=2100,
        id_only=True,
    ),
    ItemSpec(
        key="funeral_grant",
        seq=17,
        department="330100-renshe",
        name="丧葬补助金、抚恤金申领",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "参加企业职工基本养老保险的人员因病或非因工死亡的，其遗属可申领丧葬补助金和抚恤金，"
            "核定后一次性发放至申领人银行账户。"
        ),
        conditions=(
            "（一）逝者生前参加本市企业职工基本养老保险；\n"
            "（二）申领人为逝者的直系亲属或其他合法继承人。"
        ),
        legal_basis="《中华人民共和国社会保险法》第十七条",
        statutory_days=20,
        promised_days=5,
        materials=(
            mat("死亡户口注销信息", SHARED, issuer="330100-gongan"),
            mat("申领人居民身份证", form=ORIGINAL),
            mat("亲属关系证明", note="户籍信息可证明亲属关系的无需提交"),
            mat("申领人银行账户信息"),
        ),
        fields=(
            "deceased_name",
            "deceased_id_number",
            "death_date",
            "applicant_name",
            "applicant_id_number",
            "relationship",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("funeral", "social-security"),
        life_events=("bereavement",),
        popularity=1800,
    ),
    ItemSpec(
        key="funeral_fee_waiver",
        seq=18,
        department="330100-minzheng",
        name="基本殡葬服务费用减免",
        item_type=T.BENEFIT,
        summary=(
            "本市户籍居民身故的，遗体接运、暂存、火化和骨灰寄存等基本殡葬服务费用予以减免，"
            "由殡仪馆直接结算，家属无需先行垫付。"
        ),
        conditions="逝者为本市户籍居民，或在本市死亡的困难群众；遗体在本市殡仪馆火化。",
        legal_basis="《殡葬管理条例》；《浙江省殡葬管理条例》",
        statutory_days=None,
        promised_days=0,
        materials=(
            mat("居民死亡医学证明（推断）书", SHARED, issuer="330100-weijian"),
            mat("逝者户籍信息", SHARED, issuer="330100-gongan"),
            mat("经办人居民身份证", form=ORIGINAL),
        ),
        fields=(
            "deceased_name",
            "deceased_id_number",
            "death_date",
            "applicant_name",
            "applicant_id_number",
            "relationship",
            "contact_phone",
        ),
        themes=("funeral",),
        life_events=("bereavement",),
        popularity=1200,
        location="杭州殡仪馆及各区、县（市）殡仪馆服务窗口",
    ),
    # ----- 个人事项 ---------------------------------------------------------------------------
    ItemSpec(
        key="social_card",
        seq=3,
        sub=1,
        department="330100-renshe",
        name="社会保障卡申领",
        main_name="社会保障卡申领",
        sub_name="首次申领",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "申领第三代社会保障卡，具备身份凭证、就医结算、待遇领取和金融支付等功能；"
            "可在浙里办申领并邮寄到家，也可到合作银行网点即时制卡。"
        ),
        conditions="在本市参加社会保险或具有本市户籍，且尚未持有有效社会保障卡的人员。",
        legal_basis="《中华人民共和国社会保险法》第五十八条",
        statutory_days=20,
        promised_days=5,
        materials=(
            ID_CARD,
            mat(
                "近期免冠彩色证件照",
                SHARED,
                issuer="330100-gongan",
                note="调用公安制证照片，无需提交",
            ),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address", "contact_phone"),
        themes=("social-security",),
        life_events=("work",),
        popularity=12800,
        courier=True,
        id_only=True,
    ),
    ItemSpec(
        key="id_card_renewal",
        seq=19,
        sub=1,
        department="330106-gongan",
        name="居民身份证换领",
        main_name="居民身份证申领、换领、补领",
        sub_name="换领",
        item_type=T.CONFIRMATION,
        summary=(
            "居民身份证有效期满、证件严重损坏不能辨认或登记项目变更的，申请换领新证；"
            "可跨省通办，新证可选择邮寄到家。"
        ),
        conditions="本市户籍居民；居民身份证有效期满前三个月内即可申请换领。",
        legal_basis="《中华人民共和国居民身份证法》第十一条",
        statutory_days=60,
        promised_days=10,
        materials=(
            mat("原居民身份证", form=ORIGINAL),
            mat("居民户口簿", SHARED, issuer="330106-gongan"),
            mat("符合标准的数字相片", note="可现场免费拍摄，或提供照相馆回执号"),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address?", "contact_phone"),
        themes=("identity-documents", "household"),
        life_events=("work",),
        popularity=21400,
        trips=1,
        mobile=False,
        courier=True,
        appointment=True,
        id_only=True,
        fee_fen=2000,
        fee_note="换领工本费每证20元。",
        location="杭州市公安局西湖区分局各派出所户籍窗口、西湖区民生服务中心公安窗口",
    ),
    ItemSpec(
        key="id_card_replacement",
        seq=19,
        sub=2,
        department="330106-gongan",
        name="居民身份证补领",
        main_name="居民身份证申领、换领、补领",
        sub_name="补领",
        item_type=T.CONFIRMATION,
        summary="居民身份证丢失的，申请补领新证；急需使用的可同时申领临时居民身份证。",
        conditions="本市户籍居民，居民身份证丢失。",
        legal_basis="《中华人民共和国居民身份证法》第十一条",
        statutory_days=60,
        promised_days=10,
        materials=(
            mat("居民户口簿", SHARED, issuer="330106-gongan"),
            mat("符合标准的数字相片", note="可现场免费拍摄，或提供照相馆回执号"),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address?", "contact_phone"),
        themes=("identity-documents", "household"),
        life_events=("work",),
        popularity=9300,
        trips=1,
        mobile=False,
        courier=True,
        appointment=True,
        fee_fen=2000,
        fee_note="补领工本费每证20元；同时申领临时居民身份证的，另收工本费10元。",
        location="杭州市公安局西湖区分局各派出所户籍窗口、西湖区民生服务中心公安窗口",
    ),
    ItemSpec(
        key="driving_licence",
        seq=20,
        sub=1,
        department="330100-gongan",
        name="机动车驾驶证申领（初次申领）",
        main_name="机动车驾驶证核发、审验",
        sub_name="初次申领",
        item_type=T.LICENSING,
        summary=(
            "年满十八周岁、身体条件符合要求的人员，经驾驶培训和科目一至科目四考试合格后，"
            "当日核发机动车驾驶证；考试可在“交管12123”预约。"
        ),
        conditions=(
            "（一）申请小型汽车驾驶证的，年满十八周岁；\n"
            "（二）身体条件符合《机动车驾驶证申领和使用规定》要求；\n"
            "（三）无不得申请机动车驾驶证的情形。"
        ),
        legal_basis=(
            "《中华人民共和国道路交通安全法》第十九条；"
            "《机动车驾驶证申领和使用规定》（公安部令第162号）"
        ),
        statutory_days=1,
        promised_days=0,
        materials=(
            ID_CARD,
            mat(
                "机动车驾驶人身体条件证明",
                SHARED,
                issuer="330100-weijian",
                note="体检医院上传电子体检信息，无需提交",
            ),
            mat(
                "驾驶培训学时记录",
                SHARED,
                issuer="330100-jiaotong",
                note="由驾驶培训机构上传，无需提交",
            ),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "licence_class",
            "mailing_address?",
            "contact_phone",
        ),
        themes=("transport", "identity-documents"),
        life_events=("work",),
        popularity=10200,
        trips=1,
        courier=True,
        appointment=True,
        fee_fen=1000,
        fee_note="驾驶证工本费10元；考试费按浙江省核定标准另行收取。",
        location="杭州市公安局交通警察支队车辆管理所及各考场",
    ),
    ItemSpec(
        key="driving_licence_renewal",
        seq=20,
        sub=2,
        department="330100-gongan",
        name="机动车驾驶证有效期满换证",
        main_name="机动车驾驶证核发、审验",
        sub_name="有效期满换证",
        item_type=T.LICENSING,
        summary="驾驶证有效期满前九十日内申请换证；体检信息网上核验，新证邮寄到家，全程不用跑。",
        conditions="机动车驾驶证有效期满前九十日内，身体条件符合要求。",
        legal_basis="《机动车驾驶证申领和使用规定》（公安部令第162号）",
        statutory_days=1,
        promised_days=0,
        materials=(
            ID_CARD,
            mat(
                "机动车驾驶人身体条件证明",
                SHARED,
                issuer="330100-weijian",
                note="体检医院上传电子体检信息，无需提交",
            ),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address", "contact_phone"),
        themes=("transport", "identity-documents"),
        life_events=("work",),
        popularity=8700,
        courier=True,
        id_only=True,
        fee_fen=1000,
        fee_note="换证工本费10元。",
    ),
    ItemSpec(
        key="passport",
        seq=21,
        department="330100-gongan",
        name="普通护照签发",
        item_type=T.LICENSING,
        summary=(
            "中国公民因私出国申请普通护照；全国范围内可异地申请，7个工作日内签发，可选择邮寄送证。"
        ),
        conditions="中国公民，且无《中华人民共和国出境入境管理法》第十二条规定的不准出境情形。",
        legal_basis="《中华人民共和国护照法》第五条；《中华人民共和国出境入境管理法》第十二条",
        statutory_days=15,
        promised_days=7,
        materials=(
            mat("居民身份证", form=ORIGINAL),
            mat("出入境证件数字相片", note="现场免费采集，或提供照相馆回执"),
            mat("未满十六周岁的，监护人身份证明和监护关系证明", required=False),
            mat("登记备案的国家工作人员出境审批意见", ISSUED, required=False),
        ),
        fields=("applicant_name", "applicant_id_number", "mailing_address?", "contact_phone"),
        themes=("exit-entry", "identity-documents"),
        life_events=("work",),
        popularity=15300,
        trips=1,
        courier=True,
        appointment=True,
        id_only=True,
        fee_fen=12000,
        fee_note="普通护照工本费每本120元。",
        location="杭州市公安局出入境管理局办证大厅，及各区、县（市）出入境接待窗口",
    ),
    ItemSpec(
        key="residence_permit",
        seq=22,
        department="330106-gongan",
        name="居住证申领",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "在本市居住半年以上、有合法稳定就业、合法稳定住所或连续就读之一的非本市户籍人员，"
            "可申领浙江省居住证，享受居住地基本公共服务。"
        ),
        conditions=(
            "（一）已在居住地办理居住登记满半年；\n"
            "（二）有合法稳定就业、合法稳定住所、连续就读条件之一。"
        ),
        legal_basis="《居住证暂行条例》；《浙江省流动人口居住登记条例》",
        statutory_days=15,
        promised_days=5,
        materials=(
            ID_CARD,
            mat("居住登记信息", SHARED, issuer="330106-gongan"),
            mat(
                "社会保险缴纳记录",
                SHARED,
                issuer="330100-renshe",
                required=False,
                note="以就业条件申领的，通过数据共享获取",
            ),
            mat(
                "房屋租赁合同或不动产权证书",
                required=False,
                note="不动产权属信息可共享核验的，无需提交",
            ),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "residence_address",
            "employer_name?",
            "mailing_address?",
            "contact_phone",
        ),
        themes=("household", "identity-documents"),
        life_events=("work", "housing"),
        popularity=11200,
        courier=True,
        id_only=True,
    ),
    ItemSpec(
        key="marriage",
        seq=23,
        department="330106-minzheng",
        name="结婚登记（内地居民）",
        item_type=T.CONFIRMATION,
        summary=(
            "男女双方自愿结婚的，共同到婚姻登记机关申请结婚登记，当场领取结婚证；"
            "可在浙里办预约登记时间和颁证服务，凭身份证全国通办。"
        ),
        conditions=(
            "（一）男方年满二十二周岁，女方年满二十周岁；\n"
            "（二）双方均无配偶，且不属于直系血亲或者三代以内旁系血亲；\n"
            "（三）双方亲自到场。"
        ),
        legal_basis="《中华人民共和国民法典》第一千零四十九条；《婚姻登记条例》",
        statutory_days=0,
        promised_days=0,
        materials=(
            mat("双方居民身份证", form=ORIGINAL),
            mat("双方无配偶及无禁止结婚亲属关系的签字声明", form=ORIGINAL, note="现场签署"),
            mat("双方近期半身免冠合影照片", form=ORIGINAL, copies=3, note="可现场拍摄"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "partner_name",
            "partner_id_number",
            "contact_phone",
        ),
        themes=("marriage",),
        life_events=("marriage",),
        popularity=9700,
        trips=1,
        appointment=True,
        id_only=True,
        location="西湖区婚姻登记处",
    ),
    ItemSpec(
        key="divorce",
        seq=24,
        department="330106-minzheng",
        name="离婚登记（内地居民）",
        item_type=T.CONFIRMATION,
        summary=(
            "双方自愿离婚、对子女抚养和财产债务处理协商一致的，共同申请离婚登记；"
            "申请后有三十日离婚冷静期，期满后三十日内双方亲自到场申请发给离婚证。"
        ),
        conditions=(
            "（一）双方自愿离婚并具有完全民事行为能力；\n"
            "（二）在中国内地办理结婚登记；\n"
            "（三）签订书面离婚协议。"
        ),
        legal_basis="《中华人民共和国民法典》第一千零七十六条、第一千零七十七条；《婚姻登记条例》",
        statutory_days=0,
        promised_days=0,
        materials=(
            mat("双方居民身份证", form=ORIGINAL),
            mat("结婚证", form=ORIGINAL),
            mat("离婚协议书", form=ORIGINAL, copies=3),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "partner_name",
            "partner_id_number",
            "contact_phone",
        ),
        themes=("marriage",),
        life_events=("marriage",),
        popularity=3100,
        trips=2,
        appointment=True,
        location="西湖区婚姻登记处",
    ),
    ItemSpec(
        key="employment_registration",
        seq=25,
        department="330106-renshe",
        name="就业登记",
        item_type=T.PUBLIC_SERVICE,
        summary="劳动者与用人单位建立劳动关系或实现灵活就业的，办理就业登记；单位参保时同步完成。",
        conditions="法定劳动年龄内、有劳动能力并已实现就业的劳动者。",
        legal_basis=(
            "《中华人民共和国就业促进法》；《就业服务与就业管理规定》（劳动和社会保障部令第28号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(ID_CARD, mat("劳动合同或参保信息", SHARED, issuer="330100-renshe")),
        fields=("applicant_name", "applicant_id_number", "employer_name", "contact_phone"),
        themes=("employment",),
        life_events=("work",),
        popularity=2400,
        id_only=True,
    ),
    ItemSpec(
        key="unemployment_registration",
        seq=26,
        department="330106-renshe",
        name="失业登记",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "法定劳动年龄内、有劳动能力和就业要求、处于无业状态的劳动者，可在常住地办理失业登记，"
            "享受职业介绍、职业培训等公共就业服务。"
        ),
        conditions="法定劳动年龄内，有劳动能力和就业要求，处于无业状态。",
        legal_basis=(
            "《中华人民共和国就业促进法》；《就业服务与就业管理规定》（劳动和社会保障部令第28号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(
            ID_CARD,
            mat(
                "解除或终止劳动关系信息",
                SHARED,
                issuer="330100-renshe",
                note="用人单位已在社保系统登记的，无需提交",
            ),
        ),
        fields=("applicant_name", "applicant_id_number", "last_employer?", "contact_phone"),
        themes=("employment",),
        life_events=("work",),
        popularity=2900,
        id_only=True,
    ),
    ItemSpec(
        key="unemployment_benefit",
        seq=27,
        department="330100-renshe",
        name="失业保险金申领",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "参加失业保险、非因本人意愿中断就业并已办理失业登记的人员，可申领失业保险金，"
            "按月发放至社会保障卡金融账户。"
        ),
        conditions=(
            "（一）失业前用人单位和本人已缴纳失业保险费满一年；\n"
            "（二）非因本人意愿中断就业；\n"
            "（三）已办理失业登记，并有求职要求。"
        ),
        legal_basis="《中华人民共和国社会保险法》第四十五条；《失业保险条例》",
        statutory_days=10,
        promised_days=1,
        materials=(
            ID_CARD,
            mat("解除或终止劳动关系信息", SHARED, issuer="330100-renshe"),
            mat("社会保障卡（金融账户已激活）", SHARED, issuer="330100-renshe"),
        ),
        fields=("applicant_name", "applicant_id_number", "last_employer", "contact_phone"),
        themes=("employment", "social-security"),
        life_events=("work",),
        popularity=6900,
        id_only=True,
    ),
    ItemSpec(
        key="resident_pension",
        seq=28,
        department="330106-renshe",
        name="城乡居民基本养老保险参保登记",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "年满十六周岁（不含在校学生）、不属于职工基本养老保险覆盖范围的本市户籍居民，"
            "可参加城乡居民基本养老保险，自主选择缴费档次。"
        ),
        conditions="年满十六周岁、非在校学生，未参加职工基本养老保险的本市户籍居民。",
        legal_basis=(
            "《中华人民共和国社会保险法》第二十条；"
            "《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(ID_CARD, mat("户籍信息", SHARED, issuer="330106-gongan")),
        fields=("applicant_name", "applicant_id_number", "contact_phone"),
        themes=("social-security",),
        life_events=("retirement",),
        popularity=2100,
        id_only=True,
    ),
    ItemSpec(
        key="resident_medical",
        seq=29,
        department="330106-yibao",
        name="城乡居民基本医疗保险参保登记",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "未参加职工医保的本市户籍居民、持本市居住证的非户籍居民和在校学生等，"
            "可办理城乡居民医保参保登记，集中缴费期内缴费后享受下一年度待遇。"
        ),
        conditions="未参加职工基本医疗保险的本市户籍居民，或持本市居住证的非本市户籍居民。",
        legal_basis=(
            "《中华人民共和国社会保险法》第二十五条；"
            "《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(ID_CARD, mat("户籍或居住证信息", SHARED, issuer="330106-gongan")),
        fields=("applicant_name", "applicant_id_number", "contact_phone"),
        themes=("social-security", "health"),
        life_events=("school",),
        popularity=4400,
        id_only=True,
        fee_note="参保登记不收费；个人缴费按当年度城乡居民医保筹资标准缴纳。",
    ),
    ItemSpec(
        key="cross_region_medical",
        seq=30,
        department="330100-yibao",
        name="基本医疗保险参保人员异地就医备案",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "异地长期居住、异地工作或临时外出就医的参保人员，备案后可在全国联网定点医疗机构"
            "直接结算医疗费用；浙里办即时办结。"
        ),
        conditions="参加本市基本医疗保险、需在参保地以外就医的人员。",
        legal_basis=(
            "《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》"
            "（医保发〔2022〕22号）"
        ),
        statutory_days=None,
        promised_days=0,
        materials=(
            ID_CARD,
            mat("异地长期居住或工作证明", required=False, note="可用个人承诺书代替"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "destination",
            "filing_start_date",
            "contact_phone",
        ),
        themes=("health", "social-security"),
        life_events=("retirement", "work"),
        popularity=18900,
        counter=True,
        id_only=True,
    ),
    ItemSpec(
        key="fund_rent_withdrawal",
        seq=13,
        sub=2,
        department="330100-zhujian",
        name="住房公积金提取（租赁住房）",
        main_name="住房公积金提取",
        sub_name="租赁住房提取",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "在本市无自有住房且租赁住房的缴存职工，可按月或按年提取住房公积金支付房租；"
            "浙里办在线申请，资金实时到账。"
        ),
        conditions="本人及配偶在本市无自有住房，且连续足额缴存住房公积金。",
        legal_basis="《住房公积金管理条例》第二十四条",
        statutory_days=3,
        promised_days=0,
        materials=(
            ID_CARD,
            mat("本人及配偶在本市无房信息", SHARED, issuer="330100-ziran"),
            mat("住房租赁备案信息", SHARED, issuer="330100-zhujian", required=False),
            mat("本人银行借记卡"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "rental_address",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("housing",),
        life_events=("housing", "work"),
        popularity=32600,
        id_only=True,
        consult_phone=FUND_PHONE,
        location="杭州住房公积金管理中心各管理部服务大厅",
    ),
    ItemSpec(
        key="property_transfer",
        seq=31,
        department="330106-ziran",
        name="不动产转移登记（存量房买卖）",
        item_type=T.CONFIRMATION,
        for_enterprises=True,
        summary=(
            "二手房买卖合同网签后，买卖双方申请房屋所有权及建设用地使用权转移登记；"
            "交易、缴税、登记一窗受理，最快当日领证。"
        ),
        conditions="买卖双方已签订存量房买卖合同并完成网签备案，房屋无查封等限制登记情形。",
        legal_basis=(
            "《中华人民共和国民法典》第二百零九条；《不动产登记暂行条例》第二十条；"
            "《不动产登记暂行条例实施细则》"
        ),
        statutory_days=30,
        promised_days=1,
        materials=(
            mat("不动产登记申请书", note="网上填报后自动生成"),
            mat("买卖双方身份证明", form=ORIGINAL),
            mat("不动产权证书", form=ORIGINAL),
            mat("存量房买卖合同（网签）", SHARED, issuer="330100-zhujian"),
            mat("完税凭证", SHARED, issuer="330100-shuiwu"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "property_address",
            "property_cert_no",
            "contact_phone",
        ),
        themes=("housing",),
        life_events=("housing",),
        popularity=8800,
        trips=1,
        appointment=True,
        fee_fen=8000,
        fee_note=(
            "住宅类不动产登记费每件80元（含第一本证书工本费），非住宅类每件550元；"
            "契税等税费另行缴纳。"
        ),
        location="西湖区民生服务中心不动产登记综合窗口",
    ),
    ItemSpec(
        key="property_inquiry",
        seq=32,
        department="330100-ziran",
        name="不动产登记资料查询",
        item_type=T.PUBLIC_SERVICE,
        for_enterprises=True,
        summary="权利人可查询本人名下不动产登记结果，在浙里办即时查询并下载带电子签章的查询结果。",
        conditions="不动产权利人，或经权利人委托、与不动产有利害关系的人员。",
        legal_basis="《不动产登记暂行条例》；《不动产登记资料查询暂行办法》",
        statutory_days=None,
        promised_days=0,
        materials=(ID_CARD, mat("不动产登记资料查询申请书", note="网上填报后自动生成")),
        fields=("applicant_name", "applicant_id_number", "property_address?", "inquiry_purpose"),
        themes=("housing",),
        life_events=("housing",),
        popularity=14500,
        id_only=True,
    ),
    ItemSpec(
        key="school_enrolment",
        seq=33,
        department="330106-jiaoyu",
        name="义务教育阶段新生入学报名",
        item_type=T.PUBLIC_SERVICE,
        summary=(
            "适龄儿童少年小学一年级、初中一年级新生入学报名；户籍、房产、居住证和社保信息"
            "通过数据共享核验，家长在浙里办一次提交。"
        ),
        conditions=(
            "（一）小学新生当年8月31日前年满六周岁；\n"
            "（二）按学区免试就近入学，非本市户籍随迁子女按积分入学办法执行。"
        ),
        legal_basis="《中华人民共和国义务教育法》第十一条、第十二条",
        statutory_days=None,
        promised_days=None,
        materials=(
            mat("监护人居民身份证", form=ORIGINAL),
            mat("居民户口簿", SHARED, issuer="330106-gongan"),
            mat("房屋产权信息", SHARED, issuer="330100-ziran", required=False),
            mat(
                "居住证信息",
                SHARED,
                issuer="330106-gongan",
                required=False,
                note="非本市户籍随迁子女适用",
            ),
            mat("监护人社会保险缴纳记录", SHARED, issuer="330100-renshe", required=False),
        ),
        fields=(
            "child_name",
            "child_id_number",
            "applicant_name",
            "applicant_id_number",
            "residence_address",
            "contact_phone",
        ),
        themes=("education",),
        life_events=("school",),
        popularity=16400,
        counter=False,
    ),
    ItemSpec(
        key="disability_allowance",
        seq=34,
        department="330106-minzheng",
        name="困难残疾人生活补贴和重度残疾人护理补贴申请",
        item_type=T.BENEFIT,
        summary=(
            "持第二代残疾人证的低保、低边家庭残疾人可申请生活补贴，一级、二级重度残疾人"
            "可申请护理补贴，审核通过后按月发放。"
        ),
        conditions=(
            "（一）具有本市户籍，持有第二代中华人民共和国残疾人证；\n"
            "（二）生活补贴：属于最低生活保障或低保边缘家庭；护理补贴：残疾等级为一级、二级。"
        ),
        legal_basis=(
            "《国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》"
            "（国发〔2015〕52号）"
        ),
        statutory_days=20,
        promised_days=7,
        materials=(
            ID_CARD,
            mat("残疾人证信息", SHARED, note="由残疾人联合会共享，无需提交"),
            mat("低保或低边家庭认定信息", SHARED, issuer="330106-minzheng", required=False),
            mat("本人银行账户信息"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "disability_cert_no",
            "bank_name",
            "bank_account",
            "contact_phone",
        ),
        themes=("social-security",),
        life_events=(),
        popularity=1300,
    ),
    ItemSpec(
        key="doctor_registration",
        seq=35,
        department="330000-weijian",
        name="医师执业注册",
        item_type=T.LICENSING,
        summary="取得医师资格的人员申请在医疗、预防、保健机构执业注册；全省实行电子化注册。",
        conditions=("（一）取得医师资格证书；\n（二）经拟执业机构同意；\n（三）无不予注册的情形。"),
        legal_basis=(
            "《中华人民共和国医师法》；《医师执业注册管理办法》（国家卫生和计划生育委员会令第13号）"
        ),
        statutory_days=20,
        promised_days=5,
        materials=(
            ID_CARD,
            mat("医师资格证书", SHARED, issuer="330000-weijian"),
            mat("拟执业机构同意执业的证明"),
            mat("六个月内的健康体检证明"),
        ),
        fields=(
            "applicant_name",
            "applicant_id_number",
            "practice_institution",
            "practice_category",
            "contact_phone",
        ),
        themes=("qualifications", "health"),
        life_events=("work",),
        popularity=2600,
    ),
    # ----- 企业事项 ---------------------------------------------------------------------------
    ItemSpec(
        key="company_change",
        seq=36,
        department="330106-shichang",
        name="企业变更登记（营业执照变更）",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "企业名称、住所、法定代表人、注册资本、经营范围或股东等登记事项发生变更的，"
            "申请变更登记并换发营业执照；多数变更全程网办、即时办结。"
        ),
        conditions="自作出变更决议、决定或法定变更事项发生之日起三十日内申请。",
        legal_basis=(
            "《中华人民共和国市场主体登记管理条例》第二十四条；"
            "《中华人民共和国市场主体登记管理条例实施细则》"
        ),
        statutory_days=3,
        promised_days=0,
        materials=(
            mat("变更登记申请书", note="网上填报后自动生成"),
            mat("变更决议或决定"),
            mat("章程修正案", required=False),
            mat("营业执照", SHARED, issuer="330106-shichang"),
        ),
        fields=("company_name", "credit_code", "change_items", "legal_rep_name", "contact_phone"),
        themes=("business-registration",),
        life_events=("company-change",),
        popularity=6100,
        courier=True,
    ),
    ItemSpec(
        key="company_close",
        seq=37,
        department="330106-shichang",
        name="企业注销登记",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "企业解散、清算完毕后申请注销登记；未发生或已清偿债权债务的可适用简易注销，"
            "税务、社保、公章等信息同步注销。"
        ),
        conditions="企业已清算完毕或符合简易注销条件，且无未办结的行政处罚、查封等情形。",
        legal_basis="《中华人民共和国公司法》；《中华人民共和国市场主体登记管理条例》",
        statutory_days=3,
        promised_days=1,
        materials=(
            mat("注销登记申请书", note="网上填报后自动生成"),
            mat("清算报告或全体投资人承诺书"),
            mat("清税信息", SHARED, issuer="330106-shuiwu"),
        ),
        fields=("company_name", "credit_code", "legal_rep_name", "close_reason", "contact_phone"),
        themes=("business-registration",),
        life_events=("company-close",),
        popularity=3300,
    ),
    ItemSpec(
        key="road_freight",
        seq=38,
        department="330106-jiaotong",
        name="道路货物运输经营许可",
        item_type=T.LICENSING,
        for_enterprises=True,
        summary=(
            "使用总质量4500千克以上普通货运车辆从事道路货物运输经营的，申领道路运输经营许可证；"
            "使用总质量4500千克及以下普通货运车辆的无需许可。"
        ),
        conditions=(
            "（一）有与其经营业务相适应并经检测合格的车辆；\n"
            "（二）有符合规定条件的驾驶人员；\n"
            "（三）有健全的安全生产管理制度。"
        ),
        legal_basis="《中华人民共和国道路运输条例》；《道路货物运输及站场管理规定》",
        statutory_days=20,
        promised_days=3,
        materials=(
            mat("道路货物运输经营申请表"),
            mat("机动车行驶证", SHARED, issuer="330100-gongan"),
            mat("驾驶人员从业资格证", SHARED, issuer="330100-jiaotong"),
            mat("安全生产管理制度文本"),
        ),
        fields=("company_name", "credit_code", "legal_rep_name", "vehicle_count", "contact_phone"),
        themes=("transport", "operating-permits"),
        life_events=("company-start",),
        popularity=1600,
    ),
    ItemSpec(
        key="pollution_permit",
        seq=39,
        department="330100-shengtai",
        name="排污许可证核发",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "实行重点管理或简化管理的排污单位，在排放污染物前申领排污许可证；"
            "实行登记管理的只需填报排污登记表。"
        ),
        conditions="纳入固定污染源排污许可分类管理名录，已依法取得环境影响评价审批或备案。",
        legal_basis="《中华人民共和国环境保护法》第四十五条；《排污许可管理条例》",
        statutory_days=20,
        promised_days=10,
        materials=(
            mat("排污许可证申请表"),
            mat("环境影响评价审批文件或备案信息", SHARED, issuer="330100-shengtai"),
            mat("自行监测方案"),
            mat("污染防治设施说明"),
        ),
        fields=("company_name", "credit_code", "registered_address", "pollutants", "contact_phone"),
        themes=("environment", "operating-permits"),
        life_events=("company-start",),
        popularity=900,
    ),
    ItemSpec(
        key="construction_permit",
        seq=40,
        department="330106-zhujian",
        name="建筑工程施工许可证核发",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "工程投资额30万元以上或建筑面积300平方米以上的房屋建筑和市政基础设施工程，"
            "开工前由建设单位申领施工许可证。"
        ),
        conditions=(
            "（一）已办理用地批准手续并取得建设工程规划许可证；\n"
            "（二）已确定施工企业；\n"
            "（三）有保证工程质量和安全的具体措施。"
        ),
        legal_basis=(
            "《中华人民共和国建筑法》第七条、第八条；"
            "《建筑工程施工许可管理办法》（住房和城乡建设部令第18号）"
        ),
        statutory_days=7,
        promised_days=1,
        materials=(
            mat("建筑工程施工许可申请表"),
            mat("建设工程规划许可证", SHARED, issuer="330100-ziran"),
            mat("中标通知书或直接发包批准文件"),
            mat("施工合同"),
        ),
        fields=(
            "company_name",
            "credit_code",
            "project_name",
            "project_address",
            "contract_price",
            "contact_phone",
        ),
        themes=("construction",),
        life_events=(),
        popularity=1100,
    ),
    ItemSpec(
        key="food_licence",
        seq=41,
        department="330106-shichang",
        name="食品经营许可",
        item_type=T.LICENSING,
        for_enterprises=True,
        summary=(
            "从事食品销售和餐饮服务的经营者申请食品经营许可证；仅销售预包装食品的实行备案管理。"
        ),
        conditions=(
            "（一）有与经营的食品品种、数量相适应的经营场所；\n"
            "（二）有食品安全管理人员和保证食品安全的规章制度；\n"
            "（三）设备布局和工艺流程合理。"
        ),
        legal_basis=(
            "《中华人民共和国食品安全法》第三十五条；"
            "《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）"
        ),
        statutory_days=10,
        promised_days=3,
        materials=(
            mat("食品经营许可申请书"),
            mat("营业执照", SHARED, issuer="330106-shichang"),
            mat("经营场所平面图和设备布局图"),
            mat("食品安全管理制度"),
            mat("从业人员健康证明", SHARED, issuer="330100-weijian", required=False),
        ),
        fields=(
            "company_name",
            "credit_code",
            "registered_address",
            "business_items",
            "contact_phone",
        ),
        themes=("operating-permits", "health"),
        life_events=("company-start",),
        popularity=4700,
    ),
    ItemSpec(
        key="security_company",
        seq=42,
        department="330000-gongan",
        name="保安服务公司设立许可",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "设立保安服务公司，经设区的市级公安机关审核后，"
            "由省公安厅作出许可决定并核发保安服务许可证。"
        ),
        conditions=(
            "（一）注册资本不少于人民币100万元；\n"
            "（二）拟任的保安服务公司法定代表人和主要管理人员具备规定条件；\n"
            "（三）有与所提供的保安服务相适应的专业技术人员和组织机构。"
        ),
        legal_basis="《保安服务管理条例》",
        statutory_days=30,
        promised_days=12,
        materials=(
            mat("设立保安服务公司申请书"),
            mat("公司章程"),
            mat("法定代表人和主要管理人员的身份证明和履历"),
            mat("拟任人员无犯罪记录信息", SHARED, issuer="330000-gongan"),
            mat("住所和提供保安服务所需设施、装备的证明"),
        ),
        fields=(
            "company_name",
            "registered_address",
            "registered_capital",
            "legal_rep_name",
            "legal_rep_id_number",
            "contact_phone",
        ),
        themes=("operating-permits",),
        life_events=("company-start",),
        popularity=300,
    ),
    ItemSpec(
        key="auction_licence",
        seq=43,
        department="330000-shangwu",
        name="拍卖企业从事拍卖业务许可",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary="企业取得从事拍卖业务的许可，须经省商务厅审核批准，取得拍卖经营批准证书。",
        conditions=(
            "（一）有一百万元人民币以上的注册资本；\n"
            "（二）有自己的名称、组织机构、住所和章程；\n"
            "（三）有与从事拍卖业务相适应的拍卖师和其他工作人员。"
        ),
        legal_basis="《中华人民共和国拍卖法》第十一条、第十二条；《拍卖管理办法》",
        statutory_days=20,
        promised_days=10,
        materials=(
            mat("从事拍卖业务许可申请书"),
            mat("营业执照", SHARED, issuer="330100-shichang"),
            mat("公司章程"),
            mat("拍卖师资格证书"),
        ),
        fields=(
            "company_name",
            "credit_code",
            "registered_address",
            "legal_rep_name",
            "contact_phone",
        ),
        themes=("operating-permits",),
        life_events=("company-change",),
        popularity=150,
    ),
    ItemSpec(
        key="hazardous_waste",
        seq=44,
        department="330000-shengtai",
        name="危险废物经营许可证核发",
        item_type=T.LICENSING,
        for_citizens=False,
        for_enterprises=True,
        summary=(
            "从事危险废物收集、贮存、利用、处置经营活动的单位，"
            "向省生态环境厅申领危险废物经营许可证。"
        ),
        conditions=(
            "（一）有符合规定的技术人员和经营设施、设备；\n"
            "（二）有保证危险废物经营安全的规章制度、污染防治措施和事故应急救援措施。"
        ),
        legal_basis=(
            "《中华人民共和国固体废物污染环境防治法》第八十条；《危险废物经营许可证管理办法》"
        ),
        statutory_days=20,
        promised_days=15,
        materials=(
            mat("危险废物经营许可证申请书"),
            mat("环境影响评价审批文件", SHARED, issuer="330000-shengtai"),
            mat("经营设施、设备及技术人员情况说明"),
            mat("污染防治措施和事故应急救援预案"),
        ),
        fields=(
            "company_name",
            "credit_code",
            "registered_address",
            "waste_types",
            "contact_phone",
        ),
        themes=("environment", "operating-permits"),
        life_events=("company-start",),
        popularity=180,
    ),
)


@dataclass(frozen=True)
class BundleSpec:
    slug: str
    name: str
    audience: str
    life_event: str
    summary: str
    promised_days: int
    popularity: int
    parts: tuple[str, ...]
    region: str = "330100"


BUNDLES = (
    BundleSpec(
        slug="newborn",
        name="新生儿出生一件事",
        audience=Audience.CITIZEN,
        life_event="birth",
        summary=(
            "宝宝出生后，父母在浙里办一次填报、一次提交，联办出生医学证明、户口登记、"
            "社会保障卡、城乡居民医保参保和预防接种证，证件邮寄到家，全程不用跑。"
        ),
        promised_days=5,
        popularity=5200,
        parts=(
            "birth_certificate",
            "birth_hukou",
            "newborn_social_card",
            "newborn_insurance",
            "vaccination_certificate",
        ),
    ),
    BundleSpec(
        slug="company-start",
        name="企业开办一件事",
        audience=Audience.ENTERPRISE,
        life_event="company-start",
        summary=(
            "通过企业开办“一网通办”，一次填报即可同步完成营业执照、公章刻制、涉税事项、"
            "社保登记和住房公积金开户，1个工作日内办结，首套印章免费。"
        ),
        promised_days=1,
        popularity=3600,
        parts=(
            "company_register",
            "seal_filing",
            "new_taxpayer",
            "employer_insurance",
            "fund_account",
        ),
    ),
    BundleSpec(
        slug="retirement",
        name="退休一件事",
        audience=Audience.CITIZEN,
        life_event="retirement",
        summary=(
            "职工临近退休时一次申请，联办退休审批和基本养老金核定、医保退休人员待遇、"
            "住房公积金提取和老年人优待证，养老金按月发放至社会保障卡。"
        ),
        promised_days=5,
        popularity=4100,
        parts=(
            "retirement_pension",
            "retiree_medical",
            "fund_retirement_withdrawal",
            "senior_card",
        ),
    ),
    BundleSpec(
        slug="bereavement",
        name="身后一件事",
        audience=Audience.CITIZEN,
        life_event="bereavement",
        summary=(
            "家人离世后，家属一次申请即可联办死亡医学证明、户口注销、丧葬补助金和抚恤金申领、"
            "基本殡葬服务费用减免，减少奔波。"
        ),
        promised_days=5,
        popularity=1900,
        parts=("death_certificate", "death_hukou", "funeral_grant", "funeral_fee_waiver"),
    ),
)


def seed(*, stdout) -> None:
    with transaction.atomic():
        themes = _seed_themes()
        items, created, republished = _seed_items(themes)
        parts = _seed_bundles(items)
    stdout.write(
        f"Catalog: {len(items)} demo items ({created} new, {republished} republished), "
        f"{len(BUNDLES)} bundles of {parts} items, {len(themes)} themes."
    )


def _seed_themes() -> dict[str, Theme]:
    """Our themes by slug; an importer may already have made one of the same name, then reuse it."""
    themes = {}
    for order, (slug, name, name_en, audience) in enumerate(THEMES):
        theme = Theme.objects.filter(slug=slug).first()
        if theme is None:
            theme = Theme.objects.filter(name=name).first()
            if theme is not None:  # made by someone else: fill in only what is missing
                if not theme.name_en:
                    theme.name_en = name_en
                    theme.save(update_fields=["name_en"])
                themes[slug] = theme
                continue
            theme = Theme(slug=slug)
        _save_if_changed(
            theme, name=name, name_en=name_en, audience=audience, sort_order=(order + 1) * 10
        )
        themes[slug] = theme
    return themes


def _save_if_changed(obj, **values) -> bool:
    """Set the values and save, or leave the row untouched when it already holds them."""
    changed = []
    for field, value in values.items():
        if isinstance(value, models.Model):
            current = getattr(obj, f"{field}_id")
            value = value.pk
        else:
            current = getattr(obj, field)
        if current != value:
            changed.append(field)
    if obj.pk is not None and not changed:
        return False
    for field in changed:
        setattr(obj, field, values[field])
    if obj.pk is None:
        obj.save()
    else:
        if hasattr(obj, "updated_at"):
            changed.append("updated_at")
        obj.save(update_fields=changed)
    return True


def _seed_items(themes: dict[str, Theme]) -> tuple[dict[str, ServiceItem], int, int]:
    codes = {spec.department for spec in ITEMS}
    codes |= {m["issuer"] for spec in ITEMS for m in spec.materials if m["issuer"]}
    departments = {
        d.code: d for d in Department.objects.filter(code__in=codes).select_related("region")
    }
    if missing := codes - departments.keys():
        raise RuntimeError(f"The demo departments are not seeded: {sorted(missing)}")
    life_events = {e.slug: e for e in LifeEvent.objects.all()}
    if missing := {s for spec in ITEMS for s in spec.life_events} - life_events.keys():
        raise RuntimeError(f"Life events missing (catalog migration 0002): {sorted(missing)}")

    existing = {
        item.code: item
        for item in ServiceItem.objects.filter(
            code__in=[spec.code for spec in ITEMS]
        ).prefetch_related("materials", "themes", "life_events")
    }
    items: dict[str, ServiceItem] = {}
    created = republished = 0
    for spec in ITEMS:
        department = departments[spec.department]
        values = _item_values(spec, department)
        materials = [
            {**m, "issuer": departments[m["issuer"]] if m["issuer"] else None}
            for m in spec.materials
        ]
        theme_ids = {themes[slug].pk for slug in spec.themes}
        event_ids = {life_events[slug].pk for slug in spec.life_events}
        item = existing.get(spec.code)
        if item is None:
            # Saved unpublished (version 0) first so that themes are in place when version 1
            # is snapshotted and indexed.
            item = ServiceItem(
                code=spec.code, popularity=spec.popularity, source=SOURCE, version=0, **values
            )
            item.save()
            item.themes.set(theme_ids)
            item.life_events.set(event_ids)
            item_publish(actor=None, item=item, materials=materials, note=SEED_NOTE)
            created += 1
        else:
            if {e.pk for e in item.life_events.all()} != event_ids:
                item.life_events.set(event_ids)  # not part of a version
            if _differs(item, values, materials, theme_ids):
                for field, value in values.items():
                    setattr(item, field, value)
                item.themes.set(theme_ids)
                item_publish(actor=None, item=item, materials=materials, note=SEED_NOTE)
                republished += 1
        items[spec.key] = item
    return items, created, republished


def _item_values(spec: ItemSpec, department: Department) -> dict[str, Any]:
    return {
        "basic_code": spec.basic_code,
        "main_code": spec.main_code,
        "main_name": spec.main_name,
        "sub_name": spec.sub_name,
        "name": spec.name,
        "item_type": spec.item_type,
        "for_citizens": spec.for_citizens,
        "for_enterprises": spec.for_enterprises,
        "department": department,
        "region": department.region,
        "summary": spec.summary,
        "legal_basis": spec.legal_basis,
        "acceptance_conditions": spec.conditions,
        "statutory_days": spec.statutory_days,
        "promised_days": spec.promised_days,
        "trips": spec.trips,
        "online": spec.online,
        "mobile": spec.mobile,
        "counter": spec.counter,
        "courier": spec.courier,
        "appointment": spec.appointment,
        "id_only": spec.id_only,
        "fee_fen": spec.fee_fen,
        "fee_note": spec.fee_note,
        "consult_phone": spec.consult_phone or KIND_PHONES.get(spec.kind, HOTLINE),
        "complaint_phone": HOTLINE,
        "location": spec.location
        or f"{department.region.name}民生服务中心一楼综合受理窗口（{department.name}）",
        "online_url": "",
        "form_fields": form_fields(*spec.fields),
    }


MATERIAL_KEYS = ("name", "source", "form", "required", "copies", "note")


def _differs(item: ServiceItem, values, materials, theme_ids) -> bool:
    for field, value in values.items():
        if field in ("department", "region"):
            if getattr(item, f"{field}_id") != value.pk:
                return True
        elif getattr(item, field) != value:
            return True
    if {t.pk for t in item.themes.all()} != theme_ids:
        return True
    current = [(*(getattr(m, k) for k in MATERIAL_KEYS), m.issuer_id) for m in item.materials.all()]
    wanted = [
        (*(m[k] for k in MATERIAL_KEYS), m["issuer"].pk if m["issuer"] else None) for m in materials
    ]
    return current != wanted


def _seed_bundles(items: dict[str, ServiceItem]) -> int:
    regions = {r.code: r for r in Region.objects.filter(code__in={b.region for b in BUNDLES})}
    life_events = {
        e.slug: e for e in LifeEvent.objects.filter(slug__in={b.life_event for b in BUNDLES})
    }
    total = 0
    for spec in BUNDLES:
        bundle = Bundle.objects.filter(slug=spec.slug).first() or Bundle(
            slug=spec.slug, popularity=spec.popularity
        )
        _save_if_changed(
            bundle,
            name=spec.name,
            audience=spec.audience,
            summary=spec.summary,
            life_event=life_events[spec.life_event],
            region=regions[spec.region],
            promised_days=spec.promised_days,
            trips=0,
        )
        wanted = [items[key].pk for key in spec.parts]
        current = {part.item_id: part for part in bundle.parts.all()}
        bundle.parts.exclude(item_id__in=wanted).delete()
        for order, item_id in enumerate(wanted):
            part = current.get(item_id)
            if part is None:
                BundleItem.objects.create(bundle=bundle, item_id=item_id, sort_order=order)
            elif part.sort_order != order:
                part.sort_order = order
                part.save(update_fields=["sort_order"])
        total += len(wanted)
    return total
