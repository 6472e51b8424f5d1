"""Calls the gateway with the official OpenAI Python SDK: a chat completion,
a streamed one, and an error. The same steps as node-sdk.mjs.

Environment variables (all optional):
  OPENAI_BASE_URL  the gateway's /v1 URL (default http://localhost:8080/v1)
  OPENAI_API_KEY   a key the gateway accepts, when it has `auth keys`
  MODEL            the model to ask for (default gpt-4o-mini)

Run, with the gateway running:
  pip install openai
  python3 examples/clients/python-sdk.py
"""

import os

import openai
from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://localhost:8080/v1"),
    # The SDK insists on a key; any value works when the gateway has no `auth keys`.
    api_key=os.environ.get("OPENAI_API_KEY", "unused"),
)
model = os.environ.get("MODEL", "gpt-4o-mini")

# A chat completion.
completion = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Hello from the Python SDK"}],
)
print("chat:", completion.choices[0].message.content)
print("usage:", completion.usage)

# A streamed chat completion: print each piece as it arrives.
stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Stream this answer word by word"}],
    stream=True,
    stream_options={"include_usage": True},
)
print("stream: ", end="", flush=True)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    elif chunk.usage:
        print("\nstream usage:", chunk.usage, end="")
print()

# An error: the gateway answers in OpenAI's error shape, so the SDK raises
# its usual typed errors.
try:
    client.chat.completions.create(model=model, messages=[])
except openai.APIStatusError as err:
    print(f"error: status={err.status_code} type={err.type} param={err.param}: {err.body['message']}")
