"""The COMET plugin's networks, one family per file (torch is imported by these files only, when a job or a
training builds a network; registration names them by string in :mod:`hepreco_comet.models`):

- :mod:`hepreco_comet.nets.dncnn`: the DnCNN body, the denoiser and the talk's hit classifier, their losses;
- :mod:`hepreco_comet.nets.turn1`: the talk's turn-1 extractor (the DnCNN body with a three-class head);
- :mod:`hepreco_comet.nets.turn1_unet`: the turn-1 extractor's U-Net (a receptive field spanning the chamber).
"""
