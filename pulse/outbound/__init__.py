"""Outbound HTTP to addresses customers choose: the SSRF guard every such request uses."""
