"""tracking/app.py in a real browser: the app's start() serves the page on a free loopback port; headless
Chromium (Debian's chromium + chromium-driver, driven by Selenium) uploads an H.264 clip, marks the box
with two clicks and by typing it, tracks, and the page's video plays and its box file is build_tracker's.

The screenshot of the page after the run goes to $APP_SCREENSHOT when set (docs/app.png, shown by
the README, is made so), else into the test's temp folder.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import load_script

from lib.api import build_tracker
from lib.data.synthetic.writers import synthetic_sequence
from lib.test.results import ResultFiles, SequenceOutput, save_results
from lib.utils.video import VideoWriter, read_frames

app = load_script("tracking/app.py")

SIZE = (160, 120)
N_FRAMES = 10
FPS = 10.0
WAIT = 120  # seconds for any one thing the page does (a loaded machine is slow; an idle one takes ~1 s)


def browser_paths() -> tuple[str, str]:
    """Chromium and chromedriver; a missing one fails the test saying how to install it (never a skip)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("the browser test needs Debian's chromium and chromium-driver (chromium: "
                    f"{chromium or 'missing'}, chromedriver: {driver or 'missing'}); `make test` installs them as "
                    "root, else run: sudo apt-get install chromium chromium-driver")
    return chromium, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chrome(chromium: str, driver_path: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1300", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    options.binary_location = chromium
    return webdriver.Chrome(options=options, service=Service(driver_path))  # no Selenium Manager download


def status_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#status").text.strip()


def wait_status(driver, startswith: tuple[str, ...], old: str) -> str:
    """The status once it differs from `old` (read before the action: a fast server may answer before this
    is called) and starts with one of `startswith`."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT).until(lambda d: status_text(d) != old and status_text(d).startswith(startswith))
    return status_text(driver)


def set_box(driver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, "#box_text textarea, #box_text input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def box_value(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#box_text textarea, #box_text input").get_attribute("value")


def test_app_in_chromium(tmp_path, capsys):
    chromium, driver_path = browser_paths()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    frames, boxes = synthetic_sequence(N_FRAMES, size=SIZE, seed=3, box_size=(36, 27))
    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, FPS) as writer:
        for frame in frames:
            writer.write(frame)
    init = ",".join(f"{v:g}" for v in boxes[0])

    port = free_port()
    code, page = app.start(["--config", "tiny", "--random_weights", "--port", str(port), "--device", "cpu"])
    line = capsys.readouterr().out.strip()
    with capsys.disabled():
        print(f"\napp start-up line: {line}")
    assert code == 0 and line.endswith(f"open http://127.0.0.1:{port} (Ctrl-C stops)")
    driver = None
    try:
        driver = chrome(chromium, driver_path)
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#video_input input[type=file]"))
        assert "Warning: random weights" in driver.find_element(By.CSS_SELECTOR, "#weights_note").text

        before = status_text(driver)
        driver.find_element(By.CSS_SELECTOR, "#video_input input[type=file]").send_keys(str(clip))
        info = wait_status(driver, (f"{SIZE[0]} x {SIZE[1]}",), before)
        assert f"{N_FRAMES} frames, {FPS:g} fps" in info

        # two clicks on the first frame mark opposite corners of the box
        image = WebDriverWait(driver, WAIT).until(
            lambda d: next(iter(d.find_elements(By.CSS_SELECTOR, "#first_frame img")), None))
        # where gradio puts the picture in its <img> (object-fit: contain, never scaled up), in page pixels
        width, height, natural_w, natural_h = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height, arguments[0].naturalWidth,"
            " arguments[0].naturalHeight];", image)
        ratio = min(width / natural_w, height / natural_h, 1.0)
        page_per_frame_px = ratio * natural_w / SIZE[0]
        left = -width / 2 + (width - natural_w * ratio) / 2  # ActionChains offsets are from the element's centre
        top = -height / 2 + (height - natural_h * ratio) / 2
        corners = [(20, 30), (60, 50)]  # frame pixels
        for x, y in corners:
            ActionChains(driver).move_to_element_with_offset(image, left + (x + 0.5) * page_per_frame_px,
                                                             top + (y + 0.5) * page_per_frame_px).click().perform()
            time.sleep(0.5)
        WebDriverWait(driver, WAIT).until(lambda d: box_value(d) != "")
        clicked = [float(v) for v in box_value(driver).split(",")]
        assert clicked == pytest.approx([20, 30, 40, 20], abs=1), clicked

        # a box outside the frame: one sentence in the page, nothing tracked
        set_box(driver, "150,100,40,40")
        before = status_text(driver)
        driver.find_element(By.CSS_SELECTOR, "#run_button").click()
        error = wait_status(driver, ("Error:",), before)
        assert "lies outside the 160 x 120 frame" in error and "Traceback" not in error
        assert error.count(". ") == 0 and error.endswith(".")

        set_box(driver, init)
        driver.find_element(By.CSS_SELECTOR, "#run_button").click()
        done = wait_status(driver, ("Tracked", "Error:"), error)
        assert done.startswith(f"Tracked {N_FRAMES} frames")

        duration = WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
            "const v = document.querySelector('#result_video video');"
            "return v && v.readyState >= 1 && v.duration > 0 ? v.duration : null;"))
        assert duration == pytest.approx(N_FRAMES / FPS, abs=0.15)
        assert WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#score_plot img, "
                                                                           "#score_plot svg, #score_plot canvas"))
        link = driver.find_element(By.CSS_SELECTOR, "#box_file a[href]").get_attribute("href")
        offered = urllib.request.urlopen(link, timeout=30).read().decode()
        video_link = driver.find_element(By.CSS_SELECTOR, "#video_file a[href]").get_attribute("href")
        (tmp_path / "offered.mp4").write_bytes(urllib.request.urlopen(video_link, timeout=30).read())

        shot = Path(os.environ.get("APP_SCREENSHOT") or tmp_path / "app.png")
        driver.set_window_size(1280, 1400)  # the whole page in one picture
        driver.execute_script("window.scrollTo(0, 0)")
        png = driver.get_screenshot_as_png()
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB")
        assert image.width == 1280 and len(image.getcolors(1 << 24)) > 1000  # a rendered page, not a blank one
        image.quantize(256, dither=Image.Dither.NONE).save(shot, optimize=True)  # a small PNG for the README
        with capsys.disabled():
            print(f"page error: {error}\npage status: {done}\nresult <video> duration: {duration} s\n"
                  f"screenshot: {shot}")
    finally:
        if driver is not None:
            driver.quit()
        page.close()

    # the same decoded frames through build_tracker (same config, seed and backend) give the same box file
    tracker = build_tracker("tiny", random_weights=True, backend="pytorch", device="cpu")
    output = SequenceOutput()
    for i, frame in enumerate(read_frames(clip)):
        if i == 0:
            tracker.initialize(frame, [float(v) for v in boxes[0]])
            output.boxes.append([float(v) for v in boxes[0]])
        else:
            output.boxes.append(tracker.track(frame)[0])
        output.scores.append(1.0)
        output.times.append(0.0)
    save_results(ResultFiles.of(tmp_path / "expected", "clip"), output)
    expected = (tmp_path / "expected" / "clip.txt").read_text()
    assert len(expected.splitlines()) == N_FRAMES
    assert offered == expected
    assert len(list(read_frames(tmp_path / "offered.mp4"))) == N_FRAMES
