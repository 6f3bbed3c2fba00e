"""A module with a permission for members and a nav item."""

from appliance.modules import ModuleSpec, NavItem, Permission

MODULE = ModuleSpec(
    name='alpha',
    label='Alpha',
    permissions=(Permission('alpha.view', 'See alpha things', roles=('admin', 'member')),),
    nav=(NavItem('Alpha', '/alpha', 'star', 'alpha.view'),),
)
