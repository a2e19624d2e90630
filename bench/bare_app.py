"""The comparison point for bench_http.py: a bare FastAPI endpoint taking the same JSON body
(the same pydantic model, so parsing and validation cost the same) and doing nothing else."""

from fastapi import FastAPI

from nlp_service.api.schemas import CommentIn

app = FastAPI()


@app.post("/v1/reply")
async def bare(body: CommentIn) -> dict:
    return {"id": body.id, "reply": None}
