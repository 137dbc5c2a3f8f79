import GolemBench
