"""Demonstration training bases (示范培训基地): bases, resident companies and projects with their
rent-free and free property-management periods under a versioned benefit policy."""
