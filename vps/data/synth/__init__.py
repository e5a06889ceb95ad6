"""Procedural synthetic driving clips in the KITTI-STEP format (``vps-synth``).

A stand-in for KITTI-STEP in tests, demos and CPU training: a camera drives forward along a (possibly
curving) road with lane markings, curbs and sidewalks, past building fronts with windows, hedges, fences,
walls, trees, poles, signs and traffic lights, under a sky with a distant skyline; parked, leading and
oncoming cars and standing or walking people enter, move with perspective scaling, occlude each other in
depth order and leave. Labels are KITTI-STEP panoptic maps (``semantic * 1000 + track``; only person and car
carry tracks, 1..255, constant within a sequence and never reused; stuff has instance 0).

How it differs from real KITTI-STEP (know this before trusting numbers measured on it):

* No lighting model: flat-shaded faces (a fixed brightness per face orientation), no cast shadows except a
  dark contact patch under cars, no reflections, night, rain, lens flare or motion blur; only a global
  per-sequence exposure, a slight blur and Gaussian sensor noise.
* Simple shapes: cars are two boxes with windows, lights and tyres; people are flat camera-facing figures;
  trees are a trunk and a blob; buildings are planes parallel to the road. No riders, trucks, buses, trams,
  bicycles; no intersections, crossings or turning traffic; road always one lane each way (plus parking).
* Textures are periodic procedural noise, so classes are easier to tell apart than in real images (each
  class has its own colour band; see ``palette``). Objects are only drawn within 40 m (cars) / 25 m (people)
  so they are not tiny at low resolution: real data has many more small, distant and truncated objects.
* Class pixel frequencies, object sizes and motion are tuned to be KITTI-like on average (road ~30 %,
  vegetation and building large, sky ~10 %, car ~7 %, person ~1 %), not matched per scene.
"""

from vps.data.synth.generate import frame_paths, generate_dataset, generate_sequence, iter_sequence

__all__ = ["frame_paths", "generate_dataset", "generate_sequence", "iter_sequence"]
