"""What-if scenarios for planners, and the bundled demo round."""
