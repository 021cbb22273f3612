"""An Ansible module of this test suite: a restore through the `ibm.qradar` httpapi connection.

It sends its requests with the connection's `send_request` (the collection's httpapi plugin over
`ansible.netcommon.httpapi`), as the collection's own modules do: the first request carries
Basic credentials, the plugin reads the `SEC` cookie from `Set-Cookie` and sends it back as a
`SEC` header on every later request, and logs out when the play ends.
"""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.connection import Connection

RESTORES = "/api/backup_and_restore/restores"
#: The collection's headers (its BASE_HEADERS) with a version that has this family: its own
#: default, 9.1, predates it (404/4, as on a console).
HEADERS = {"Content-Type": "application/json", "Version": "26.0"}


def main() -> None:
    module = AnsibleModule(
        argument_spec={"backup_id": {"type": "int", "required": True},
                       "groups": {"type": "list", "elements": "str", "required": True}},
    )  # fmt: skip
    connection = Connection(module._socket_path)

    def call(method: str, path: str, body: object = None) -> tuple[int, object]:
        payload = json.dumps(body) if body is not None else None
        code, answer = connection.send_request(method, path, payload=payload, headers=HEADERS)
        return code, answer

    body = {"backup_id": module.params["backup_id"], "groups": module.params["groups"]}
    created_code, created = call("POST", RESTORES, body)
    conflict_code, conflict = call("POST", RESTORES, body)
    if created_code != 201 or not isinstance(created, dict):
        module.fail_json(msg=f"POST {RESTORES} answered {created_code}: {created}")
        return
    requested_code, requested = call(
        "POST", f"{RESTORES}/{created['id']}", {"status": "REQUESTING"}
    )
    read_code, read = call("GET", f"{RESTORES}/{created['id']}")
    module.exit_json(
        changed=True, created=[created_code, created], conflict=[conflict_code, conflict],
        requested=[requested_code, requested], read=[read_code, read],
    )  # fmt: skip


if __name__ == "__main__":
    main()
