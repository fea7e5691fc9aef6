"""Identity and access: organisation units, users, roles, permissions, authentication, guards.

What other parts of the service use:

- `permissions.Permission` / `roles.Role`: declare `opt={"permission": Permission.X}` on every route.
- `principal.Principal`: the authenticated caller, injected as the `principal` dependency.
- `scope`: SQLAlchemy filters that restrict repository queries to the caller's units.
- `http.audit_fields(request)`: request id and client hash for `record_event`.
"""
