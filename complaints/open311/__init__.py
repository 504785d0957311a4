"""Open311 GeoReport v2 for the complaints desk, under ``/open311/v2/``.

``catalog`` the services and their definitions; ``params`` reading query and form parameters;
``selectors`` the public-safe view of tickets; ``services`` POST requests into ``ticket_submit``;
``keys`` integrators' api_keys; ``render`` JSON, XML and the spec's error array; ``views`` and
``urls`` the endpoints, each in ``.json`` and ``.xml``.
"""
