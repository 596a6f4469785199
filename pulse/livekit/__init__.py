"""The LiveKit side of Pulse: regions, room naming, and the API gateway (I/O adapter).

Everything that talks to a LiveKit server goes through here, so the rest of Pulse
sees LiveKit's refusals and outages as Pulse errors, and never mixes up two
projects' rooms on the shared cluster.
"""
