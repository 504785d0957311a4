from .views import assistant, stats, tickets

app_name = "complaints"

urlpatterns = [*tickets.urlpatterns, *assistant.urlpatterns, *stats.urlpatterns]
