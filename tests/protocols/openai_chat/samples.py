"""Chat completion requests from OpenAI's API reference and guides, for the request tests."""

from __future__ import annotations

from tests.protocols.openai_chat.examples import MODEL

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
BOARDWALK = ("https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/"
             "2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg")

DEFAULT = {
    "model": MODEL,
    "messages": [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hello!"},
    ],
}

IMAGE_INPUT = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": BOARDWALK}},
            ],
        }
    ],
    "max_tokens": 300,
}

BASE64_IMAGE = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What's in this image?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": BOARDWALK, "detail": "low"}},
            ],
        }
    ],
}

AUDIO_INPUT = {
    "model": "gpt-4o-audio-preview",
    "modalities": ["text", "audio"],
    "audio": {"voice": "alloy", "format": "wav"},
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this recording?"},
                {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
            ],
        }
    ],
}

FILE_INPUT = {
    "model": MODEL,
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "file", "file": {"file_id": "file-6F2ksmvXxt4VdoqmHRw6kL"}},
                {"type": "text", "text": "What is the first dragon in the book?"},
            ],
        }
    ],
}

STREAMING = {**DEFAULT, "stream": True, "stream_options": {"include_usage": True}}

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}

FUNCTIONS = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "What's the weather like in Boston today?"}],
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
}

STRICT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Retrieves current weather for the given location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "units": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location", "units"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}

# the function-calling guide's conversation: parallel calls, then one tool message per call
TOOL_CONVERSATION = {
    "model": MODEL,
    "messages": [
        {"role": "user", "content": "What's the weather like in Paris and Bogotá today?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_12345xyz", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
                {"id": "call_67890abc", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"location\":\"Bogotá, Colombia\"}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_12345xyz", "content": "15 degrees Celsius"},
        {"role": "tool", "tool_call_id": "call_67890abc",
         "content": [{"type": "text", "text": "18 degrees"}, {"type": "text", "text": "Celsius"}]},
        {"role": "assistant", "content": "It is 15°C in Paris and 18°C in Bogotá."},
        {"role": "user", "content": "Thanks! Should I bring an umbrella?"},
    ],
    "tools": [STRICT_TOOL],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
}

MATH_SCHEMA = {
    "type": "object",
    "properties": {
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"],
                "additionalProperties": False,
            },
        },
        "final_answer": {"type": "string"},
    },
    "required": ["steps", "final_answer"],
    "additionalProperties": False,
}

STRUCTURED_OUTPUTS = {
    "model": "gpt-4o-2024-08-06",
    "messages": [
        {"role": "system",
         "content": "You are a helpful math tutor. Guide the user through the solution step by step."},
        {"role": "user", "content": "how can I solve 8x + 7 = -23"},
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "math_reasoning", "schema": MATH_SCHEMA, "strict": True},
    },
}

JSON_MODE = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant designed to output JSON."},
        {"role": "user", "content": "Who won the world series in 2020?"},
    ],
    "response_format": {"type": "json_object"},
}

REASONING = {
    "model": "o3",
    "reasoning_effort": "high",
    "max_completion_tokens": 25000,
    "messages": [{"role": "user", "content": "Write a bash script that takes a matrix represented as a string."}],
}

LOGPROBS = {"model": MODEL, "messages": [{"role": "user", "content": "Hello!"}], "logprobs": True, "top_logprobs": 2}

# few-shot prompting with named example speakers, and a system message between turns
NAMES_AND_MID_CONVERSATION_SYSTEM = {
    "model": MODEL,
    "messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant",
         "content": "Things working well together will increase revenue."},
        {"role": "user", "name": "alice", "content": "This late pivot means we don't have time to boil the ocean."},
        {"role": "assistant", "name": "helper", "content": "No time to do everything."},
        {"role": "system", "content": "From now on, answer in French."},
        {"role": "user", "content": "Summarise."},
    ],
}

EVERYTHING_ELSE = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "Say this is a test"}],
    "temperature": 0.2,
    "top_p": 0.9,
    "seed": 42,
    "stop": ["\n", "END"],
    "n": 1,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "logit_bias": {"50256": -100},
    "user": "user-1234",
    "metadata": {"session": "abc"},
    "store": True,
    "service_tier": "flex",
    "prediction": {"type": "content", "content": "This is a test"},
    "web_search_options": {"search_context_size": "low"},
    "verbosity": "low",
    "prompt_cache_key": "cache-key-1",
    "safety_identifier": "sid-1",
    "max_completion_tokens": 64,
    "x_future_field": {"nested": [1, 2, 3]},
}

DOCUMENTED_REQUESTS = {
    "default": DEFAULT,
    "image_input": IMAGE_INPUT,
    "base64_image": BASE64_IMAGE,
    "audio_input": AUDIO_INPUT,
    "file_input": FILE_INPUT,
    "streaming": STREAMING,
    "functions": FUNCTIONS,
    "tool_conversation": TOOL_CONVERSATION,
    "structured_outputs": STRUCTURED_OUTPUTS,
    "json_mode": JSON_MODE,
    "text_format": {**DEFAULT, "response_format": {"type": "text"}},
    "reasoning": REASONING,
    "logprobs": LOGPROBS,
    "names_and_mid_conversation_system": NAMES_AND_MID_CONVERSATION_SYSTEM,
    "everything_else": EVERYTHING_ELSE,
    "tool_choice_required": {**FUNCTIONS, "tool_choice": "required", "parallel_tool_calls": True},
    "tool_choice_none": {**FUNCTIONS, "tool_choice": "none"},
    "legacy_functions": {**DEFAULT, "functions": [WEATHER_TOOL["function"]], "function_call": "auto"},
    "top_k_for_compatible_servers": {**DEFAULT, "top_k": 40},
    "empty_tools": {**DEFAULT, "tools": []},
}
