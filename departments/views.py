from django.shortcuts import render

from . import selectors


def shop(request, code: str):
    department = selectors.department_get_public(code=code)
    return render(request, "departments/shop.html", {"department": department})


def directory(request):
    return render(
        request, "departments/directory.html", {"groups": selectors.region_departments_grouped()}
    )
