"""Compliance verification: profiles of controls run on the estate, waivers, drift, reports.

``opsrunner verify --profile olvm-baseline`` loads the profile (:mod:`.load`), runs every
control's testinfra check on the hosts it applies to (:mod:`.run`), applies the waivers
(:mod:`.waivers`), compares with the accepted baseline (:mod:`.baseline`) and reports: a
control-by-host matrix, JSON (:mod:`.json_report`), JUnit with one suite a host
(:mod:`.junit`) and a self-contained HTML page (:mod:`.html`). The data model is
:mod:`.model`.
"""
