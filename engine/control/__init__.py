"""The simulator's control surface: the world, rules, clock, faults; shared by HTTP and scenarios."""
