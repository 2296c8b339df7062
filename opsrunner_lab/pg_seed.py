"""The schema and rows the lab seeds into the engine and DWH databases.

A small subset of the real tables (same names and main columns), with tens of thousands of
rows of which 80% are then deleted, as the engine's and DWH's housekeeping does. The bloat
tables have autovacuum off, so the dead rows stay until someone vacuums and a
``VACUUM FULL`` visibly gives the space back. Every statement runs as the database's owner.
"""

from __future__ import annotations

from collections.abc import Sequence

NO_AUTOVACUUM = "WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)"

ENGINE_SCHEMA = f"""
CREATE TABLE schema_version (
    id serial PRIMARY KEY, version varchar(10) NOT NULL, script varchar(255) NOT NULL,
    checksum varchar(128), installed_by varchar(63) NOT NULL,
    started_at timestamp DEFAULT now(), ended_at timestamp DEFAULT now(),
    state varchar(15) NOT NULL, current boolean NOT NULL, comment text DEFAULT '');
CREATE TABLE cluster (
    cluster_id uuid PRIMARY KEY, name varchar(40) NOT NULL, description varchar(4000),
    compatibility_version varchar(40) NOT NULL);
CREATE TABLE vds_static (
    vds_id uuid PRIMARY KEY, vds_name varchar(255) NOT NULL, host_name varchar(255) NOT NULL,
    port integer NOT NULL DEFAULT 54321, cluster_id uuid NOT NULL REFERENCES cluster,
    vds_unique_id varchar(128), server_ssl_enabled boolean DEFAULT true,
    vds_type integer NOT NULL DEFAULT 0, ssh_port integer NOT NULL DEFAULT 22,
    ssh_username varchar(255) DEFAULT 'root');
CREATE TABLE vm_static (
    vm_guid uuid PRIMARY KEY, vm_name varchar(255) NOT NULL, mem_size_mb integer NOT NULL,
    num_of_sockets integer NOT NULL DEFAULT 1, cpu_per_socket integer NOT NULL DEFAULT 1,
    os integer NOT NULL DEFAULT 0, description varchar(4000), cluster_id uuid REFERENCES cluster,
    creation_date timestamptz DEFAULT now(), entity_type varchar(32) NOT NULL,
    is_stateless boolean DEFAULT false);
CREATE TABLE vm_dynamic (
    vm_guid uuid PRIMARY KEY REFERENCES vm_static ON DELETE CASCADE, status integer NOT NULL,
    run_on_vds uuid REFERENCES vds_static, vm_ip text, last_start_time timestamptz);
CREATE TABLE audit_log (
    audit_log_id bigserial PRIMARY KEY, user_id uuid, user_name varchar(255), vm_id uuid,
    vm_name varchar(255), vds_id uuid, vds_name varchar(255), log_time timestamptz NOT NULL,
    log_type_name varchar(100) DEFAULT '', log_type integer NOT NULL, severity integer NOT NULL,
    message text NOT NULL, processed boolean NOT NULL DEFAULT false,
    deleted boolean NOT NULL DEFAULT false, origin varchar(255) DEFAULT 'oVirt',
    custom_event_id integer DEFAULT -1, correlation_id varchar(50)) {NO_AUTOVACUUM};
CREATE INDEX idx_audit_log_log_time ON audit_log (log_time);
CREATE TABLE job (
    job_id uuid PRIMARY KEY, action_type varchar(50) NOT NULL, description text NOT NULL,
    status varchar(32) NOT NULL, owner_id uuid, visible boolean NOT NULL DEFAULT true,
    start_time timestamptz NOT NULL, end_time timestamptz, last_update_time timestamptz,
    correlation_id varchar(50) NOT NULL, is_external boolean DEFAULT false,
    is_auto_cleared boolean DEFAULT true, engine_session_seq_id bigint) {NO_AUTOVACUUM};
CREATE TABLE step (
    step_id uuid PRIMARY KEY, parent_step_id uuid, job_id uuid NOT NULL
    REFERENCES job ON DELETE CASCADE, step_type varchar(32) NOT NULL, description text NOT NULL,
    step_number integer NOT NULL, status varchar(32) NOT NULL, start_time timestamptz NOT NULL,
    end_time timestamptz, correlation_id varchar(50) NOT NULL, external_id uuid,
    external_system_type varchar(32), is_external boolean DEFAULT false,
    progress smallint) {NO_AUTOVACUUM};
CREATE INDEX idx_step_job_id ON step (job_id);
CREATE TABLE engine_backup_log (
    scope varchar(64) NOT NULL, done_at timestamptz NOT NULL, is_passed boolean,
    output_message text, fqdn varchar(255), log_path text, PRIMARY KEY (scope, done_at));
CREATE FUNCTION logenginebackupevent(v_scope varchar(64), v_done_at timestamptz,
        v_status integer, v_output_message text, v_fqdn varchar(255), v_log_path text)
    RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
    -- status 0: a backup started; 1: it succeeded; -1: it failed.
    IF v_status <> 0 THEN
        INSERT INTO engine_backup_log (scope, done_at, is_passed, output_message, fqdn, log_path)
        VALUES (v_scope, v_done_at, v_status = 1, v_output_message, v_fqdn, v_log_path);
    END IF;
    INSERT INTO audit_log (log_time, log_type_name, log_type, severity, message)
    VALUES (v_done_at,
            CASE v_status WHEN 0 THEN 'ENGINE_BACKUP_STARTED' WHEN 1
                 THEN 'ENGINE_BACKUP_COMPLETED' ELSE 'ENGINE_BACKUP_FAILED' END,
            CASE v_status WHEN 0 THEN 9024 WHEN 1 THEN 9025 ELSE 9026 END,
            CASE WHEN v_status < 0 THEN 2 ELSE 0 END, v_output_message);
END;
$body$;
CREATE TABLE opsrunner_marker (
    id serial PRIMARY KEY, note text NOT NULL, created timestamptz NOT NULL DEFAULT now());
"""

ENGINE_ROWS = """
INSERT INTO schema_version (version, script, checksum, installed_by, state, current)
VALUES ('04050000', 'upgrade/04_05_0010_add_vds_static_ssh_public_key.sql', md5('a'), 'engine',
        'INSTALLED', false),
       ('04050640', 'upgrade/04_05_0640_add_engine_backup_log_index.sql', md5('b'), 'engine',
        'INSTALLED', true);
INSERT INTO cluster VALUES (gen_random_uuid(), 'Default', 'The default server cluster', '4.7');
INSERT INTO vds_static (vds_id, vds_name, host_name, cluster_id, vds_unique_id)
SELECT gen_random_uuid(), h.name, h.address, (SELECT cluster_id FROM cluster), gen_random_uuid()
FROM (VALUES {hosts}) AS h (name, address) WHERE h.name IS NOT NULL;
INSERT INTO vm_static (vm_guid, vm_name, mem_size_mb, os, description, entity_type)
VALUES ('00000000-0000-0000-0000-000000000000', 'Blank', 1024, 0, 'Blank template', 'TEMPLATE');
INSERT INTO vm_static (vm_guid, vm_name, mem_size_mb, num_of_sockets, os, cluster_id, entity_type)
SELECT gen_random_uuid(), format('vm%s', lpad(i::text, 2, '0')), 2048 * (1 + i % 4), 1 + i % 2,
       33, (SELECT cluster_id FROM cluster), 'VM'
FROM generate_series(1, 24) AS i;
INSERT INTO vm_dynamic (vm_guid, status, run_on_vds, vm_ip, last_start_time)
SELECT vm_guid, CASE WHEN random() < 0.7 THEN 1 ELSE 0 END,
       (SELECT vds_id FROM vds_static ORDER BY random() LIMIT 1),
       format('192.168.122.%s', 10 + row_number() OVER ()), now() - interval '3 days'
FROM vm_static WHERE entity_type = 'VM';
INSERT INTO audit_log (user_name, vm_name, vds_name, log_time, log_type_name, log_type, severity,
                       message, correlation_id)
SELECT 'admin@ovirt@internalsso', format('vm%s', lpad((1 + i % 24)::text, 2, '0')),
       format('kvm%s', 1 + i % 2), now() - make_interval(secs => i * 60),
       (ARRAY['USER_STARTED_VM', 'USER_STOP_VM', 'VDS_DETECTED', 'USER_RUN_VM'])[1 + i % 4],
       (ARRAY[153, 33, 13, 32])[1 + i % 4], 0,
       format('VM vm%s was started by admin@ovirt@internalsso (Host: kvm%s). Event %s of the '
              'sample history, kept for the audit trail until the housekeeping removes it.',
              lpad((1 + i % 24)::text, 2, '0'), 1 + i % 2, i),
       md5(i::text)
FROM generate_series(1, 50000) AS i;
DELETE FROM audit_log WHERE audit_log_id % 5 <> 0;
INSERT INTO job (job_id, action_type, description, status, start_time, end_time,
                 last_update_time, correlation_id)
SELECT gen_random_uuid(), 'RunVm', format('Launching VM vm%s', lpad((1 + i % 24)::text, 2, '0')),
       'FINISHED', now() - make_interval(mins => i), now() - make_interval(mins => i - 1),
       now() - make_interval(mins => i - 1), md5(i::text)
FROM generate_series(1, 4000) AS i;
INSERT INTO step (step_id, job_id, step_type, description, step_number, status, start_time,
                  end_time, correlation_id, progress)
SELECT gen_random_uuid(), job_id, s.kind, format('%s: %s', s.kind, description), s.n,
       'FINISHED', start_time, end_time, correlation_id, 100
FROM job, (VALUES (1, 'VALIDATING'), (2, 'EXECUTING'), (3, 'FINALIZING')) AS s (n, kind);
DELETE FROM job WHERE start_time < now() - interval '800 minutes';
"""

DWH_SCHEMA = f"""
CREATE TABLE history_configuration (
    var_name varchar(50) PRIMARY KEY, var_value varchar(255), var_datetime timestamptz);
CREATE TABLE host_configuration (
    history_id serial PRIMARY KEY, host_id uuid NOT NULL, host_name varchar(255) NOT NULL,
    create_date timestamptz, update_date timestamptz, delete_date timestamptz);
CREATE TABLE vm_configuration (
    history_id serial PRIMARY KEY, vm_id uuid NOT NULL, vm_name varchar(255) NOT NULL,
    create_date timestamptz, update_date timestamptz, delete_date timestamptz);
CREATE TABLE host_samples_history (
    history_id serial PRIMARY KEY, history_datetime timestamptz NOT NULL, host_id uuid NOT NULL,
    host_status smallint NOT NULL, minutes_in_status decimal(7, 2) NOT NULL DEFAULT 1,
    memory_usage_percent smallint DEFAULT 0, ksm_shared_memory_mb bigint,
    cpu_usage_percent smallint, ksm_cpu_percent smallint DEFAULT 0, active_vms smallint,
    total_vms smallint, total_vms_vcpus integer, cpu_load integer,
    system_cpu_usage_percent smallint, user_cpu_usage_percent smallint, swap_used_mb integer,
    host_configuration_version integer) {NO_AUTOVACUUM};
CREATE TABLE vm_samples_history (
    history_id serial PRIMARY KEY, history_datetime timestamptz NOT NULL, vm_id uuid NOT NULL,
    vm_status smallint NOT NULL, minutes_in_status decimal(7, 2) NOT NULL DEFAULT 1,
    cpu_usage_percent smallint DEFAULT 0, memory_usage_percent smallint DEFAULT 0,
    user_cpu_usage_percent smallint, system_cpu_usage_percent smallint, vm_ip text,
    currently_running_on_host uuid, vm_configuration_version integer,
    current_host_configuration_version integer) {NO_AUTOVACUUM};
CREATE INDEX idx_vm_samples_history_datetime ON vm_samples_history (history_datetime);
"""

DWH_ROWS = """
INSERT INTO history_configuration VALUES ('default_language', 'en_US', NULL),
    ('firstSync', 'false', now() - interval '30 days'), ('lastSync', NULL, now());
INSERT INTO host_configuration (host_id, host_name, create_date)
SELECT gen_random_uuid(), h.name, now() - interval '30 days'
FROM (VALUES {hosts}) AS h (name, address) WHERE h.name IS NOT NULL;
INSERT INTO vm_configuration (vm_id, vm_name, create_date)
SELECT gen_random_uuid(), format('vm%s', lpad(i::text, 2, '0')), now() - interval '30 days'
FROM generate_series(1, 24) AS i;
INSERT INTO host_samples_history (history_datetime, host_id, host_status, memory_usage_percent,
    cpu_usage_percent, active_vms, total_vms, total_vms_vcpus, cpu_load,
    system_cpu_usage_percent, user_cpu_usage_percent, swap_used_mb, host_configuration_version)
SELECT now() - make_interval(mins => i), h.host_id, 1, 40 + i % 30, 10 + i % 50, 12, 12, 18,
       i % 7, i % 10, i % 40, 0, h.history_id
FROM generate_series(1, 10000) AS i, host_configuration AS h;
DELETE FROM host_samples_history WHERE history_id % 5 <> 0;
INSERT INTO vm_samples_history (history_datetime, vm_id, vm_status, cpu_usage_percent,
    memory_usage_percent, user_cpu_usage_percent, system_cpu_usage_percent, vm_ip,
    vm_configuration_version)
SELECT now() - make_interval(mins => i), v.vm_id, 1, i % 90, 20 + i % 60, i % 70, i % 20,
       format('192.168.122.%s', 10 + v.history_id), v.history_id
FROM generate_series(1, 2000) AS i, vm_configuration AS v;
DELETE FROM vm_samples_history WHERE history_id % 5 <> 0;
"""


def seed_sql(product: str, owner: str, hosts: Sequence[tuple[str, str]]) -> str:
    """The whole seed of ``product`` (``engine`` or ``dwh``) as one transaction run as ``owner``.

    :param hosts: the KVM hosts (name, address) the engine knows.
    """
    values = ", ".join(f"({sql_literal(name)}, {sql_literal(address)})"
                       for name, address in hosts) or "(NULL::text, NULL::text)"
    schema, rows = (ENGINE_SCHEMA, ENGINE_ROWS) if product == "engine" else (DWH_SCHEMA, DWH_ROWS)
    return (f"BEGIN;\nSET LOCAL synchronous_commit = off;\nSET LOCAL ROLE {sql_ident(owner)};\n"
            f"{schema}{rows.replace('{hosts}', values)}COMMIT;\n")


def sql_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (standard_conforming_strings on, the default)."""
    return "'" + text.replace("'", "''") + "'"
