"""The lab: real servers on loopback addresses that stand in for an OLVM estate."""
