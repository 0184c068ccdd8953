"""Request payloads from Google's Gemini API docs, shared by the request tests."""

from __future__ import annotations

MODEL = "gemini-2.5-flash"

TEXT = {"contents": [{"parts": [{"text": "Explain how AI works in a few words"}]}]}

SYSTEM = {
    "systemInstruction": {"parts": [{"text": "You are a cat. Your name is Neko."}]},
    "contents": [{"parts": [{"text": "Hello there"}]}],
}

MULTI_TURN = {
    "contents": [
        {"role": "user", "parts": [{"text": "Hello"}]},
        {"role": "model", "parts": [{"text": "Great to meet you. What would you like to know?"}]},
        {"role": "user", "parts": [{"text": "I have two dogs in my house. How many paws are in my house?"}]},
    ],
    "generationConfig": {"stopSequences": ["Title"], "temperature": 1.0, "topP": 0.8, "topK": 10,
                         "maxOutputTokens": 800},
}

INLINE_IMAGE = {
    "contents": [
        {"parts": [{"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
                   {"text": "Caption this image."}]}
    ]
}

FILES = "https://generativelanguage.googleapis.com/v1beta/files"
FILE_URI = {
    "contents": [
        {
            "parts": [
                {"fileData": {"mimeType": "image/png", "fileUri": f"{FILES}/abc"}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": f"{FILES}/doc"}},
                {"text": "Summarise both files."},
            ]
        }
    ]
}

WEATHER_DECL = {
    "name": "get_current_temperature",
    "description": "Gets the current temperature for a given location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name, e.g. San Francisco"}},
        "required": ["location"],
    },
}

FUNCTION_CALLING = {
    "contents": [
        {"role": "user", "parts": [{"text": "What's the temperature in London?"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "get_current_temperature", "args": {"location": "London"}},
                 "thoughtSignature": "CiQBcsjafAbCdEf=="}
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_current_temperature",
                                      "response": {"temperature": 25, "unit": "Celsius"}}}
            ],
        },
    ],
    "tools": [{"functionDeclarations": [WEATHER_DECL]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_current_temperature"]}},
}

PARALLEL_CALLS = {
    "contents": [
        {"role": "user", "parts": [{"text": "Turn this place into a party!"}]},
        {
            "role": "model",
            "parts": [
                {"functionCall": {"name": "power_disco_ball", "args": {"power": True}}},
                {"functionCall": {"name": "start_music", "args": {"energetic": True, "loud": True}}},
                {"functionCall": {"name": "dim_lights", "args": {"brightness": 0.5}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "power_disco_ball", "response": {"result": "ok"}}},
                {"functionResponse": {"name": "start_music", "response": {"result": "ok"}}},
                {"functionResponse": {"name": "dim_lights", "response": {"result": "ok"}}},
            ],
        },
    ],
    "tools": [
        {
            "functionDeclarations": [
                {"name": "power_disco_ball", "description": "Powers the spinning disco ball.",
                 "parameters": {"type": "object", "properties": {"power": {"type": "boolean"}}, "required": ["power"]}},
                {"name": "start_music", "description": "Play some music matching the specified parameters.",
                 "parameters": {"type": "object", "properties": {"energetic": {"type": "boolean"},
                                                                 "loud": {"type": "boolean"}},
                                "required": ["energetic", "loud"]}},
                {"name": "dim_lights", "description": "Dim the lights.",
                 "parameters": {"type": "object", "properties": {"brightness": {"type": "number"}},
                                "required": ["brightness"]}},
            ]
        }
    ],
}

THINKING = {
    "contents": [
        {"role": "user", "parts": [{"text": "Provide a list of the top 3 famous physicists"}]},
        {
            "role": "model",
            "parts": [
                {"text": "**Listing physicists** I will pick Einstein, Newton, Curie.", "thought": True},
                {"text": "1. Albert Einstein ...", "thoughtSignature": "EsAGCr0GAcu98PA="},
            ],
        },
        {"role": "user", "parts": [{"text": "And chemists?"}]},
    ],
    "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}},
}

THINKING_LEVEL = {
    "contents": [{"parts": [{"text": "How does AI work?"}]}],
    "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}},
}

JSON_MODE = {
    "contents": [{"parts": [{"text": "List a few popular cookie recipes, and include the amounts of ingredients."}]}],
    "generationConfig": {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"recipeName": {"type": "STRING"},
                               "ingredients": {"type": "ARRAY", "items": {"type": "STRING"}}},
                "propertyOrdering": ["recipeName", "ingredients"],
            },
        },
    },
}

JSON_SCHEMA_MODE = {
    "contents": [{"parts": [{"text": "Extract the user."}]}],
    "generationConfig": {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object", "properties": {"name": {"type": "string"}},
                               "additionalProperties": False},
    },
}

GROUNDING = {
    "contents": [{"parts": [{"text": "Who won the euro 2024?"}]}],
    "tools": [{"googleSearch": {}}, {"codeExecution": {}}],
    "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    "generationConfig": {"candidateCount": 1, "responseModalities": ["TEXT"]},
    "cachedContent": "cachedContents/abc123",
}

REQUESTS = {
    "text": TEXT,
    "system_instruction": SYSTEM,
    "multi_turn": MULTI_TURN,
    "inline_image": INLINE_IMAGE,
    "file_uri": FILE_URI,
    "function_calling": FUNCTION_CALLING,
    "parallel_calls": PARALLEL_CALLS,
    "thinking": THINKING,
    "thinking_level": THINKING_LEVEL,
    "json_mode": JSON_MODE,
    "json_schema_mode": JSON_SCHEMA_MODE,
    "grounding": GROUNDING,
}
