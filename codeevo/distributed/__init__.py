"""Distributed evaluation on a Ray cluster: the only package of codeevo that imports ray.

``executor.RayExecutor`` (driver side) hands the engine's jobs to one ``actor.NodeEvaluator``
per node; each holds that node's sandbox in a host process (``node_host``) watched by a
keeper (``keeper``) so nothing outlives the actor. ``demand``, ``bundle``, ``frames``,
``keeper`` and ``node_host`` do not import ray (the host process never pays for it).
"""
