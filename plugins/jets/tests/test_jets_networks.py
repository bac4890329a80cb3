"""The MPNN's two implementations agree; both taggers ignore padding; the pure-torch k-NN is right; a couple of
training steps lower the loss."""

from __future__ import annotations

import numpy as np
import pytest
from hepreco_jets.graphs import jet_features, pad, to_batch, to_data_list
from hepreco_jets.mpnn import MPNNParams, build, complete_edges
from hepreco_jets.particlenet import ParticleNetParams, knn
from hepreco_jets.particlenet import build as build_pn


def _jets(torch, b=6, p=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.tensor([1, 3, 24, 7, 16, 2][:b])
    mask = torch.arange(p)[None, :] < counts[:, None]
    x = torch.randn(b, p, 7, generator=g) * mask[..., None]
    return x, mask


def test_dense_and_message_passing_agree(torch1):
    torch = torch1
    torch.manual_seed(1)
    dense = build(MPNNParams(max_particles=24)).eval()
    edges = build(MPNNParams(max_particles=24, implementation="message_passing")).eval()
    edges.load_state_dict(dense.state_dict())
    x, mask = _jets(torch)
    with torch.no_grad():
        a, b = dense(x, mask), edges(x, mask)
        batch = to_batch(x, mask)
        c, d = dense.forward_batch(batch), edges.forward_batch(batch)
    assert a.shape == (6, 1)
    assert torch.allclose(a, b, atol=1e-6)
    assert torch.allclose(a, c, atol=1e-6)
    assert torch.allclose(a, d, atol=1e-6)
    # one Data per jet, as torch-geometric batches them
    data = to_data_list(x.numpy(), mask.numpy(), y=np.arange(6) % 2)
    assert [int(dt.num_nodes) for dt in data] == [1, 3, 24, 7, 16, 2]


@pytest.mark.parametrize("which", ["mpnn", "particlenet"])
def test_padding_does_not_change_the_score(torch1, which):
    torch = torch1
    torch.manual_seed(2)
    net = (
        build(MPNNParams(max_particles=24)) if which == "mpnn" else build_pn(ParticleNetParams(max_particles=24, k=4))
    ).eval()
    x, mask = _jets(torch)
    with torch.no_grad():
        ref = net(x, mask)
        junk = x + 50.0 * (~mask)[..., None]  # garbage in the padded rows
        wide = torch.cat([junk, torch.randn(6, 10, 7)], dim=1)
        wmask = torch.cat([mask, torch.zeros(6, 10, dtype=torch.bool)], dim=1)
        assert torch.allclose(ref, net(wide, wmask), atol=1e-5)
        # ... and each jet's score is its own: the same jet alone in its batch (no batch norm in eval mode)
        assert torch.allclose(ref[2:3], net(x[2:3], mask[2:3]), atol=1e-5)


def test_knn_matches_brute_force(torch1):
    torch = torch1
    x, mask = _jets(torch, seed=3)
    pts = x[..., 1:3]
    idx, valid = knn(pts, mask, 4)
    for j in range(6):
        n = int(mask[j].sum())
        d = torch.cdist(pts[j, :n], pts[j, :n]) + torch.eye(n) * 1e9
        for i in range(n):
            want = torch.argsort(d[i])[: min(4, n - 1)].tolist()
            got = idx[j, i][valid[j, i]].tolist()
            assert sorted(got) == sorted(want)


def test_complete_edges_count():
    import torch

    e = complete_edges(torch.tensor([3, 1, 2]))
    assert e.shape == (2, 9 + 1 + 4)
    # no edge crosses jets
    jet = torch.repeat_interleave(torch.arange(3), torch.tensor([3, 1, 2]))
    assert bool((jet[e[0]] == jet[e[1]]).all())


def test_a_few_training_steps_lower_the_loss(torch1):
    torch = torch1
    torch.manual_seed(0)
    net = build(MPNNParams(max_particles=24))
    x, mask = _jets(torch)
    y = torch.tensor([[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]])
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, mask), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_features_of_a_jet():
    import awkward as ak

    jet = ak.Array([{"eta": 0.5, "phi": 0.1, "E": 200.0}])
    cons = ak.Array(
        [[{"px": 100.0, "py": 0.0, "pz": 0.0, "E": 100.0}, {"px": 0.0, "py": 50.0, "pz": 50.0, "E": 70.7107}]]
    )
    f = jet_features(jet, cons)
    x, mask = pad(f, 4)
    assert x.shape == (1, 4, 7) and mask.tolist() == [[True, True, False, False]]
    # E / E_jet, relative eta of the first particle, theta of the second
    assert abs(x[0, 0, 4] - 0.5) < 1e-6
    assert abs(x[0, 0, 1] - (0.0 - 0.5)) < 1e-6
    assert abs(x[0, 1, 6] - np.pi / 4) < 1e-5
    # log pT of the first particle: log 100
    assert abs(x[0, 0, 5] - np.log(100.0)) < 1e-5


def test_a_batch_without_jets(torch1):
    import awkward as ak

    torch = torch1
    jet = ak.Array([{"eta": 0.5, "phi": 0.1, "E": 200.0}])[:0]
    cons = ak.Array([[{"px": 100.0, "py": 0.0, "pz": 0.0, "E": 100.0}]])[:0]
    x, mask = pad(jet_features(jet, cons), 24, 7)
    assert x.shape == (0, 24, 7) and mask.shape == (0, 24)
    for net in (build(MPNNParams(max_particles=24)), build_pn(ParticleNetParams(max_particles=24))):
        with torch.no_grad():
            assert net.eval()(torch.from_numpy(x), torch.from_numpy(mask)).shape == (0, 1)
