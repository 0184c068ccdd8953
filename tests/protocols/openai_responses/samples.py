"""Responses API requests from OpenAI's API reference and guides, shared by the request, response and
stream tests."""

from __future__ import annotations

MODEL = "gpt-4.1"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

TEXT_INPUT = {"model": MODEL, "input": "Tell me a three sentence bedtime story about a unicorn."}

IMAGE_INPUT = {
    "model": MODEL,
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is in this image?"},
                {"type": "input_image",
                 "image_url": "https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg"},
            ],
        }
    ],
}

BASE64_AND_FILE_IMAGES = {
    "model": MODEL,
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Compare these."},
                {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"},
                {"type": "input_image", "file_id": "file-abc123", "detail": "auto"},
                {"type": "input_file", "file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"},
            ],
        }
    ],
}

WEATHER_TOOL = {
    "type": "function",
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location", "unit"],
    },
}

FUNCTION_CALLING = {
    "model": MODEL,
    "input": "What is the weather like in Boston today?",
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
}

FUNCTION_CALL_OUTPUT = {
    "model": MODEL,
    "input": [
        {"role": "user", "content": "What's the weather like in Paris today?"},
        {"type": "function_call", "id": "fc_12345xyz", "call_id": "call_12345xyz", "name": "get_weather",
         "arguments": "{\"latitude\":48.8566,\"longitude\":2.3522}"},
        {"type": "function_call_output", "call_id": "call_12345xyz", "output": "{\"temperature\": 14}"},
    ],
    "tools": [{**WEATHER_TOOL, "name": "get_weather", "strict": True}],
}

REASONING = {"model": "o3-mini", "input": "How much wood would a woodchuck chuck?",
             "reasoning": {"effort": "high", "summary": "auto"}}

STATELESS_REASONING = {
    "model": "o4-mini",
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "input": [
        {"role": "user", "content": "What's the weather like in Paris today?"},
        {"type": "reasoning", "id": "rs_6820f383d7c08191846711c5df8233bc0ac5ba57aafcbac7",
         "summary": [{"type": "summary_text", "text": "**Checking the weather**"}],
         "encrypted_content": "gAAAAABoISQ24OyVRYbkYfukq0JCCHFb"},
        {"type": "function_call", "id": "fc_6820f3855a8c8191", "call_id": "call_X0oLt7mFfovSBDwjzYrDONvl",
         "name": "get_weather", "arguments": "{\"latitude\":48.8566,\"longitude\":2.3522}", "status": "completed"},
        {"type": "function_call_output", "call_id": "call_X0oLt7mFfovSBDwjzYrDONvl", "output": "15.3"},
    ],
    "tools": [{**WEATHER_TOOL, "name": "get_weather"}],
}

WEB_SEARCH = {"model": MODEL, "tools": [{"type": "web_search_preview"}],
              "input": "What was a positive news story from today?"}

INSTRUCTIONS_STREAM = {"model": MODEL, "instructions": "You are a helpful assistant.", "input": "Hello!",
                       "stream": True}

STRUCTURED_OUTPUT = {
    "model": "gpt-4o-2024-08-06",
    "input": [
        {"role": "system", "content": "Extract the event information."},
        {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."},
    ],
    "text": {
        "format": {
            "type": "json_schema",
            "name": "calendar_event",
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                               "participants": {"type": "array", "items": {"type": "string"}}},
                "required": ["name", "date", "participants"],
                "additionalProperties": False,
            },
            "strict": True,
        }
    },
}

CONVERSATION_STATE = {
    "model": "gpt-4o-mini",
    "input": [
        {"role": "developer", "content": "Answer as a pirate."},
        {"role": "user", "content": "knock knock."},
        {"type": "message", "id": "msg_67b73f697ba4819183a15cc17d011509", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Who's there?", "annotations": []}]},
        {"role": "user", "content": "Orange."},
    ],
    "temperature": 0.7,
    "top_p": 0.9,
    "max_output_tokens": 500,
    "parallel_tool_calls": False,
    "metadata": {"customer": "c-1"},
    "user": "user-1234",
    "service_tier": "flex",
    "text": {"format": {"type": "text"}, "verbosity": "low"},
    "truncation": "auto",
}

DOCUMENTED_REQUESTS = {
    "text": TEXT_INPUT,
    "image": IMAGE_INPUT,
    "base64_and_file_images": BASE64_AND_FILE_IMAGES,
    "function_calling": FUNCTION_CALLING,
    "function_call_output": FUNCTION_CALL_OUTPUT,
    "reasoning": REASONING,
    "stateless_reasoning": STATELESS_REASONING,
    "web_search": WEB_SEARCH,
    "instructions_stream": INSTRUCTIONS_STREAM,
    "structured_output": STRUCTURED_OUTPUT,
    "conversation_state": CONVERSATION_STATE,
}
