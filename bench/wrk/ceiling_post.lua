-- POST to the ceiling app (/tx, /sql-accrual).
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
