import pytest


@pytest.mark.django_db
def test_home_page_renders_in_chinese(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="zh-Hans"' in response.content.decode()
