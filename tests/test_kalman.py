"""Kalman filter: hand-computed predict/update/gating cases, batching, empty inputs."""
import numpy as np
import pytest
from scipy.stats import chi2

from deep_sort.detection import Detection, tlwh_to_xyah, xyah_to_tlwh
from deep_sort.kalman_filter import CHI2_INV_95, KalmanFilter

XYAH = np.array([50.0, 100.0, 0.5, 100.0])  # height 100: position std 5 px, velocity std 0.625 px


def test_initiate_hand_values():
    mean, cov = KalmanFilter().initiate(XYAH)
    np.testing.assert_array_equal(mean, [50, 100, 0.5, 100, 0, 0, 0, 0])
    # std: 2/20 h = 10 (x, y, h), 1e-2 (a); 10/160 h = 6.25 (vx, vy, vh), 1e-5 (va)
    np.testing.assert_allclose(np.diag(cov), [100, 100, 1e-4, 100, 39.0625, 39.0625, 1e-10, 39.0625])
    assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 0


def test_predict_hand_values():
    kf = KalmanFilter()
    mean, cov = kf.initiate(XYAH)
    mean[4:6] = [3.0, -2.0]  # moving right and up
    mean, cov = kf.predict(mean, cov)
    np.testing.assert_allclose(mean, [53, 98, 0.5, 100, 3, -2, 0, 0])
    # x: 100 (position) + 39.0625 (velocity) + 25 (process noise (h/20)^2)
    assert cov[0, 0] == pytest.approx(164.0625)
    assert cov[0, 4] == pytest.approx(39.0625)  # position-velocity coupling
    assert cov[4, 4] == pytest.approx(39.0625 + 0.390625)  # + (h/160)^2
    assert cov[2, 2] == pytest.approx(1e-4 + 1e-4)  # aspect: fixed process noise 1e-2


def test_update_hand_values():
    kf = KalmanFilter()
    mean, cov = kf.predict(*kf.initiate(XYAH))
    z = XYAH + [10.0, 0, 0, 0]  # the box 10 px right of the prediction
    new_mean, new_cov = kf.update(mean, cov, z)
    s = 164.0625 + 25.0  # innovation variance: predicted x variance + measurement noise (h/20)^2
    assert new_mean[0] == pytest.approx(50 + 10 * 164.0625 / s)
    assert new_mean[4] == pytest.approx(10 * 39.0625 / s)  # velocity pulled along
    np.testing.assert_allclose(new_mean[[1, 2, 3, 5, 6, 7]], [100, 0.5, 100, 0, 0, 0], atol=1e-12)
    assert new_cov[0, 0] == pytest.approx(164.0625 * 25.0 / s)
    # a measurement equal to the prediction leaves the mean and only shrinks the covariance
    same_mean, same_cov = kf.update(mean, cov, XYAH)
    np.testing.assert_allclose(same_mean, mean)
    assert np.all(np.diag(same_cov) <= np.diag(cov))


def test_gating_distance_hand_values():
    kf = KalmanFilter()
    mean, cov = kf.initiate(XYAH)
    z = np.array([XYAH + [10, 0, 0, 0], XYAH + [0, 0, 0, 5], XYAH + [0, 0, 0.1, 0], XYAH + [10, 0, 0.1, 0]])
    d = kf.gating_distance(mean[None], cov[None], z)
    # variances: x and h 100 + 25, aspect 1e-4 + 1e-2
    np.testing.assert_allclose(d[0], [100 / 125, 25 / 125, 0.01 / 0.0101, 0.8 + 0.01 / 0.0101])
    d_pos = kf.gating_distance(mean[None], cov[None], z, only_position=True)
    np.testing.assert_allclose(d_pos[0], [0.8, 0, 0, 0.8], atol=1e-12)


def test_chi2_table():
    for dof, value in CHI2_INV_95.items():
        assert value == pytest.approx(chi2.ppf(0.95, dof), abs=1e-3)


def test_batched_equals_single():
    rng = np.random.default_rng(0)
    kf = KalmanFilter()
    boxes = np.c_[rng.uniform(0, 500, (5, 2)), rng.uniform(0.3, 0.6, 5), rng.uniform(50, 200, 5)]
    mean, cov = kf.initiate(boxes)
    mean[:, 4:] = rng.normal(0, 1, (5, 4))
    pm, pc = kf.predict(mean, cov)
    z = boxes + rng.normal(0, 2, (5, 4))
    um, uc = kf.update(pm, pc, z)
    for i in range(5):
        m1, c1 = kf.predict(mean[i], cov[i])
        np.testing.assert_allclose(pm[i], m1)
        np.testing.assert_allclose(pc[i], c1)
        m2, c2 = kf.update(m1, c1, z[i])
        np.testing.assert_allclose(um[i], m2)
        np.testing.assert_allclose(uc[i], c2)
        np.testing.assert_allclose(kf.gating_distance(pm, pc, z)[i], kf.gating_distance(m1, c1, z)[0])


def test_empty_inputs():
    kf = KalmanFilter()
    mean, cov = kf.initiate(XYAH)
    assert kf.gating_distance(mean[None], cov[None], np.zeros((0, 4))).shape == (1, 0)
    assert kf.gating_distance(np.zeros((0, 8)), np.zeros((0, 8, 8)), XYAH[None]).shape == (0, 1)


def test_box_conversions():
    tlwh = np.array([[10.0, 20.0, 40.0, 100.0]])
    np.testing.assert_allclose(tlwh_to_xyah(tlwh), [[30, 70, 0.4, 100]])
    np.testing.assert_allclose(xyah_to_tlwh(tlwh_to_xyah(tlwh)), tlwh)
    det = Detection([10, 20, 40, 100], 0.9, np.ones(3) / np.sqrt(3))
    np.testing.assert_allclose(det.to_tlbr(), [10, 20, 50, 120])
    assert det.feature.dtype == np.float32
