"""The simulator's control surface: world, rules, clock, faults; shared by HTTP and scenarios."""
