from . import assistant, stats, tickets

urlpatterns = [*tickets.urlpatterns, *assistant.urlpatterns, *stats.urlpatterns]
