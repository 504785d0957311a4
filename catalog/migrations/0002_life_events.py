from django.db import migrations

LIFE_EVENTS = [
    # slug, name, English name, audience, search words
    ("birth", "出生", "Having a baby", "citizen", "出生 生育 新生儿 出生医学证明"),
    ("school", "上学", "Going to school", "citizen", "入学 上学 学籍 教育"),
    ("work", "就业", "Finding work", "citizen", "就业 失业 求职 职业资格"),
    ("marriage", "婚育", "Marriage and family", "citizen", "婚姻登记 结婚 离婚 收养"),
    ("housing", "住房", "Housing", "citizen", "住房 公积金 不动产 房屋"),
    ("retirement", "退休", "Retirement", "citizen", "退休 养老 养老保险"),
    ("bereavement", "身后事", "After a death", "citizen", "死亡 殡葬 丧葬 遗属"),
    ("company-start", "企业开办", "Starting a business", "enterprise", "企业设立 开办 营业执照"),
    ("company-change", "企业变更", "Changing a business", "enterprise", "变更登记 变更 备案"),
    ("company-close", "企业注销", "Closing a business", "enterprise", "注销 清算 歇业"),
]


def create(apps, schema_editor):
    LifeEvent = apps.get_model("catalog", "LifeEvent")
    for order, (slug, name, name_en, audience, keywords) in enumerate(LIFE_EVENTS):
        LifeEvent.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "name_en": name_en, "audience": audience,
                      "keywords": keywords, "sort_order": order * 10},
        )


def remove(apps, schema_editor):
    apps.get_model("catalog", "LifeEvent").objects.filter(
        slug__in=[row[0] for row in LIFE_EVENTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
