"""Model metadata: what a table model declares and the plain description built from it.

``metadata`` holds that description as plain data (``ModelMeta``, ``Column``,
``ForeignKey``, ``ReverseRelation``): what the SQL compiler, DDL, the query layer and
row loading read, with no Pydantic in sight. The other modules build it: ``field``
(``Field()`` and its database options), ``indexes`` (``Index``, ``Check``), ``types``
(Python annotation -> value kind), ``meta_builder`` (``class Meta`` and relations ->
``ModelMeta``) and ``registry`` (the table models and their finalization).

This layer sits below ``oxyde.sql``: it imports only Pydantic and the standard library,
never the SQL, connection, query or ``Model`` layers. This ``__init__`` imports nothing,
so reading ``oxyde.meta.metadata`` costs no more than that module.
"""
