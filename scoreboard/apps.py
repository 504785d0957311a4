from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoreboardConfig(AppConfig):
    name = "scoreboard"
    verbose_name = _("Scoreboard")

    role_permissions = {
        "supervisor": {"scoreboard.view_snapshot", "scoreboard.view_score"},
        "admin": {
            "scoreboard.view_snapshot",
            "scoreboard.view_score",
            "scoreboard.view_weightset",
        },
    }

    def seed_demo(self, *, stdout):
        from .metrics import default_weights
        from .models import WeightSet
        from .services import scoreboard_compute_all

        if not WeightSet.objects.exists():
            # The demo province is small: rank a department from three cases, tickets or items.
            WeightSet.objects.create(
                version=1, weights=default_weights(), min_volume=3, note="demo province"
            )
        snapshots = scoreboard_compute_all()
        stdout.write(
            f"Scoreboard: {len(snapshots)} snapshots of the running periods "
            f"(weights v{snapshots[0].weight_set.version})."
        )
