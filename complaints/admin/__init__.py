from . import knowledge, open311, tickets  # noqa: F401  (each module registers its models)
