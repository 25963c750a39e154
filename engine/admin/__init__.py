"""Administration: users and their memberships, org units, departments, categories and the city
import, each change checked against the administrator's scope and recorded in the change log.

A package of its own, beside queries and public, because deactivating a user gives their tasks
back (lifecycle) and the import from a page runs the city importer (engine/city); engine/access,
below lifecycle, keeps the rules of who is who that everything else reads.
"""
