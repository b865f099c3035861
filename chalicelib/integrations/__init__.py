"""Code for integrators (the shop, the game server) to copy or import: it depends on
nothing but the standard library and nothing else in this project imports it."""
