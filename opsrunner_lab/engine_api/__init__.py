"""The lab's ``ovirt-engine``: a stateful simulator of the engine's REST API v4 and its SSO.

The real ``ovirtsdk4`` works against it unchanged, behind the lab's Apache over TLS or directly
over plain HTTP. Modules: ``model`` (kinds, the document conventions), ``store`` (persistent,
thread-safe state with scheduled transitions and hooks), ``shapes``/``shapes_devices``/``seed``
(the lab's estate), ``catalog``/``render``/``root``/``search``/``resources`` (reads),
``handlers``/``events`` (writes), ``settings`` (timings, image storage, imageio), the actions:
``transitions``/``estate`` (shared), ``actions_hosts``, ``actions_vms``, ``vm_devices``,
``templates``, ``snapshots``, ``disks``, ``imagetransfers``/``imageio_tickets``; ``faults``,
``xmlcodec``, ``sso``, ``app`` (routing), ``server`` (HTTP), ``unit``.
"""
