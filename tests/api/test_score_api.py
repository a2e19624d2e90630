def test_score_endpoint_for_analysts(client, admin, bot) -> None:
    analyst = {"Authorization": "Bearer " + client.post("/v1/keys", json={"name": "ana", "role": "analyst"}, headers=admin).json()["key"]}
    body = {"comments": [{"id": "a", "body": "几号链接"}, {"id": "b", "body": ""}, {"id": "c", "body": "加薇信领福利"}], "text_col": "body"}
    r = client.post("/v1/score", json=body, headers=analyst).json()
    assert [x["id"] for x in r["results"]] == ["a", "c"]
    assert r["results"][0]["intent"] == "ask_link" and r["results"][1]["moderation_action"] == "block"
    assert r["rejects"][0]["row"] == 2 and "empty" in r["rejects"][0]["reason"]
    assert client.post("/v1/score", json=body, headers=bot).status_code == 403
    assert client.post("/v1/score", json=body).status_code == 401
    too_many = client.post("/v1/score", json={"comments": [{"text": "x"}] * 10_001}, headers=analyst)  # ~150 KB
    assert too_many.status_code == 422 and "comments" in too_many.json()["error"]["message"]  # row limit
    too_big = client.post("/v1/score", json={"comments": [{"text": "x" * 250_000}]}, headers=analyst)
    assert too_big.status_code == 413 and too_big.json()["error"]["type"] == "body_too_large"  # byte limit (200 KB here)
