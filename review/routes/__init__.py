"""The review app's pages and APIs, one module per concern: ``add_routes(app, ctx)`` adds a
module's pages to the app, with the app's shared ``review.context.ReviewContext``."""

from review.routes import auth, credit_file, decisions, lists, supervision

ROUTERS = (auth, lists, credit_file, decisions, supervision)
