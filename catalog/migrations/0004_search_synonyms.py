"""A first synonym table: how people say it → the catalog's words (staff edit it in admin).

Each expansion lists alternatives separated by spaces: an item matches when its name or text
holds any of them, and ranks higher the more of them its name holds. ``+`` joins words that must
all be found (``居民身份证+补领``). Existing phrases are left as staff made them.
"""

from django.db import migrations

SYNONYMS = [
    # phrase, expansion, note
    ("生孩子", "出生医学证明 出生 生育", "新生儿出生"),
    ("生小孩", "出生医学证明 出生 生育", "新生儿出生"),
    ("出生证", "出生医学证明", "简称"),
    ("准生证", "生育登记 生育服务证 生育", "旧称"),
    ("上户口", "户口 户籍 出生登记", "新生儿落户"),
    ("户口本", "户口簿 户口 户籍", "口语"),
    ("迁户口", "户口迁移 户口迁出 迁入 户籍", "口语"),
    ("考驾照", "驾驶证+初次申领 驾驶人考试 驾驶证", "学车考证"),
    ("驾照", "驾驶证", "简称"),
    ("换驾照", "驾驶证 换证 换领", "到期换证"),
    ("开公司", "企业设立 设立登记 公司", "企业开办"),
    ("注册公司", "企业设立 设立登记 公司", "企业开办"),
    ("办执照", "营业执照 设立登记", "企业开办"),
    ("关公司", "注销登记 注销", "企业注销"),
    ("结婚", "结婚登记 结婚", "婚姻登记"),
    ("领证", "结婚登记 结婚证", "口语：领结婚证"),
    ("离婚", "离婚登记 离婚", "婚姻登记"),
    ("身份证丢了", "居民身份证+补领 身份证+补发 身份证+挂失 居民身份证", "证件遗失"),
    ("补办身份证", "居民身份证+补领 身份证+补发 居民身份证", "证件遗失"),
    ("社保卡", "社会保障卡", "简称"),
    ("社保", "社会保险 社会保障 参保", "简称"),
    ("医保", "医疗保险 医疗保障 医保", "简称"),
    ("医保卡", "社会保障卡 医疗保障", "口语"),
    ("退休", "退休 养老", "退休养老"),
    ("养老金", "养老保险 养老金 待遇", "口语"),
    ("公积金", "住房公积金 公积金", "简称"),
    ("提公积金", "住房公积金 提取", "口语"),
    ("办护照", "护照 出入境", "出境证件"),
    ("去香港", "往来港澳通行证 港澳 签注", "出境证件"),
    ("去澳门", "往来港澳通行证 港澳 签注", "出境证件"),
    ("港澳通行证", "往来港澳通行证", "全称"),
    ("去台湾", "往来台湾通行证 台湾 签注", "出境证件"),
    ("买房", "不动产 商品房 房屋", "住房"),
    ("房产证", "不动产权证书 不动产登记 不动产", "旧称"),
    ("失业金", "失业保险金 失业", "口语"),
    ("找工作", "就业 求职 招聘 职业介绍", "就业"),
    ("低保", "最低生活保障", "简称"),
    ("残疾证", "残疾人证", "简称"),
    ("暂住证", "居住证", "旧称"),
    ("个税", "个人所得税", "简称"),
    ("教师证", "教师资格", "口语"),
    ("律师证", "律师执业", "口语"),
    ("车辆年检", "机动车检验 检验合格标志", "口语"),
    ("上车牌", "机动车登记 注册登记 号牌", "口语"),
    ("死亡证明", "死亡医学证明 死亡", "身后事"),
    ("办丧事", "殡葬 丧葬 死亡", "身后事"),
]


def create(apps, schema_editor):
    Synonym = apps.get_model("catalog", "Synonym")
    for phrase, expansion, note in SYNONYMS:
        Synonym.objects.get_or_create(
            phrase=phrase, defaults={"expansion": expansion, "note": note, "is_active": True}
        )


def remove(apps, schema_editor):
    apps.get_model("catalog", "Synonym").objects.filter(
        phrase__in=[row[0] for row in SYNONYMS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_search_index"),
    ]

    operations = [migrations.RunPython(create, remove)]
