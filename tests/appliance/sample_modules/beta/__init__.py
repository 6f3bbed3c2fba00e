"""A module that needs alpha and brings its own role."""

from appliance.modules import ModuleSpec, NavItem, Permission

MODULE = ModuleSpec(
    name='beta',
    label='Beta',
    requires=('alpha',),
    permissions=(Permission('beta.review', 'Review beta things', roles=('admin', 'reviewer')),),
    nav=(
        NavItem('Beta', '/beta', 'rate_review', 'beta.review'),
        NavItem('Alpha in beta', '/beta/a', 'star', 'alpha.view'),
    ),
)
