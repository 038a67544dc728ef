"""The people wing: who may see what (access, scope), the organisation tree, members' WeChat
identities and binding, role and branch changes, the roster importer, and 党费."""
