"""MiniMax's published Python sample for image-to-video, as their API documentation gives it:
submit, poll the query every few seconds, retrieve the file, download it. Unchanged but for
`BASE_URL` (and the poll interval and output path, which the sample leaves to its user), so the
test runs the flow a MiniMax user already has.
"""

from __future__ import annotations

import json
import time

import requests

BASE_URL = "https://api.minimax.io"
api_key = ""
output_file_name = "output.mp4"
poll_seconds = 10.0


def invoke_video_generation(
    prompt: str, model: str, first_frame_image: str, **extra: object
) -> str:
    print("-----------------Submit video generation task-----------------")
    url = f"{BASE_URL}/v1/video_generation"
    payload = json.dumps(
        {"prompt": prompt, "model": model, "first_frame_image": first_frame_image, **extra}
    )
    headers = {"authorization": "Bearer " + api_key, "content-type": "application/json"}
    response = requests.request("POST", url, headers=headers, data=payload)
    print(response.text)
    task_id = response.json()["task_id"]
    print("Video generation task submitted successfully, task ID: " + task_id)
    return task_id


def query_video_generation(task_id: str) -> tuple[str, str]:
    url = f"{BASE_URL}/v1/query/video_generation?task_id=" + task_id
    headers = {"authorization": "Bearer " + api_key}
    response = requests.request("GET", url, headers=headers)
    status = response.json()["status"]
    if status == "Preparing":
        print("...Preparing...")
        return "", "Preparing"
    elif status == "Queueing":
        print("...In the queue...")
        return "", "Queueing"
    elif status == "Processing":
        print("...Generating...")
        return "", "Processing"
    elif status == "Success":
        return response.json()["file_id"], "Finished"
    elif status == "Fail":
        return "", "Fail"
    else:
        return "", "Unknown"


def fetch_video_result(file_id: str) -> None:
    print("---------------Video generated successfully, downloading now---------------")
    url = f"{BASE_URL}/v1/files/retrieve?file_id=" + file_id
    headers = {"authorization": "Bearer " + api_key}
    response = requests.request("GET", url, headers=headers)
    print(response.text)
    download_url = response.json()["file"]["download_url"]
    print("Video download link: " + download_url)
    with open(output_file_name, "wb") as f:
        f.write(requests.get(download_url).content)
    print("The video has been downloaded in: " + output_file_name)


def main(prompt: str, model: str, first_frame_image: str, **extra: object) -> str:
    """The sample's `__main__` block: returns the final status."""
    task_id = invoke_video_generation(prompt, model, first_frame_image, **extra)
    print("-----------------Video generation task submitted -----------------")
    while True:
        time.sleep(poll_seconds)
        file_id, status = query_video_generation(task_id)
        if file_id != "":
            fetch_video_result(file_id)
            print("---------------Successful---------------")
            return status
        elif status == "Fail" or status == "Unknown":
            print("---------------Failed---------------")
            return status
