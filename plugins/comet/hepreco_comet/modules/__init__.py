"""The COMET plugin's hepreco modules, one per file, registered by name in :mod:`hepreco_comet.plugin` and
imported when a job uses them:

- ``sim_source``: ``comet.CDCSimSource``; ``geometry_service``: ``comet.CDCGeometryService`` (and
  ``deprecated``: its former name ``comet.CDCGeometry``);
- ``hit_imager``: ``comet.HitImager``; ``signal_image``: ``comet.SignalImage``;
- ``dncnn_classifier``: ``comet.DnCNNHitClassifier``; ``hit_features``: ``comet.HitFeatures``;
  ``gbdt_classifier``: ``comet.GBDTHitClassifier``; ``turn1_extractor``: ``comet.Turn1Extractor``;
- ``helix_fit``: ``comet.HelixFit``; ``momentum_resolution``: ``comet.MomentumResolution``;
- ``hit_metrics``: ``comet.HitClassificationMetrics``; ``sim_validation``: ``comet.SimValidation``;
  ``event_display``: ``comet.EventDisplay``.
"""
