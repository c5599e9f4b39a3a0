"""Commerce (UMKM) routes: businesses, their products, channels, sales and capital.

Products, channels, sales and capital belong to a business: their village and household come
from the business document, never from the request.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from services.commerce.models import (
    BusinessCreate,
    BusinessDetail,
    BusinessPublic,
    CapitalCreate,
    CapitalPublic,
    ChannelCreate,
    ChannelPublic,
    ProductCreate,
    ProductPublic,
    SaleCreate,
    SalePublic,
)
from shared.auth import Principal, PrincipalDep, Sector
from shared.commands import WriteGate, WriteGateDep
from shared.errors import ROUTE_PROBLEMS, Problem, field_problem
from shared.events import catalogue as ev
from shared.events import vocab
from shared.households import Households
from shared.language import say
from shared.money import rupiah_amount
from shared.pagination import PageDep, PageOut, PageParams
from shared.ports.store import CollectionSpec, Doc, Store
from shared.recording import (
    build_from,
    list_in_scope,
    load_in_scope,
    public_view,
    record,
    record_new,
    store_of,
    write_route,
)

BUSINESSES = "commerce_businesses"
PRODUCTS = "commerce_products"
CHANNELS = "commerce_channels"
SALES = "commerce_sales"
CAPITAL = "commerce_capital"
HOUSEHOLDS = Households("commerce")
_SCOPE = ("village_code", "district_code")
COLLECTIONS = (
    *HOUSEHOLDS.collections(),
    CollectionSpec(BUSINESSES, indexes=(*_SCOPE, "household_id"), outbox=True),
    CollectionSpec(PRODUCTS, indexes=(*_SCOPE, "business_id"), outbox=True),
    CollectionSpec(CHANNELS, indexes=(*_SCOPE, "business_id"), outbox=True),
    CollectionSpec(SALES, indexes=(*_SCOPE, "business_id"), outbox=True),
    CollectionSpec(CAPITAL, indexes=(*_SCOPE, "business_id"), outbox=True),
)
# One channel document per business and channel, so this bounds the channels of a business.
CHANNEL_COUNT = len(get_args(vocab.Channel))
DETAIL_PRODUCTS = 100
router = APIRouter(prefix="/commerce", tags=["commerce"], responses=ROUTE_PROBLEMS)
HOUSEHOLDS.add_routes(router)
VillageQuery = Annotated[str | None, Query(pattern=r"^[0-9]{10}$")]


def _business(store: Store, business_id: str, principal: Principal, *, writing: bool) -> Doc:
    sector = Sector.COMMERCE if writing else None
    return load_in_scope(
        store, BUSINESSES, business_id, principal, sector=sector, what=say("usaha", "business")
    )


def _business_for_write(gate: WriteGate, store: Store, business_id: str) -> Doc:
    """The business a fact is recorded for: in the token's scope, and of a household of its
    own village."""
    business = _business(store, business_id, gate.principal, writing=True)
    HOUSEHOLDS.check_parent(gate, business)
    return business


def _owner(business: Doc) -> dict[str, str]:
    return {"business_id": business["business_id"], "household_id": business["household_id"]}


def _record_for(
    gate: WriteGate,
    store: Store,
    business: Doc,
    *,
    body: ChannelCreate | ProductCreate | SaleCreate | CapitalCreate,
    collection: str,
    id_field: str,
    id_prefix: str,
    model: type[ev.Payload],
    given_id: str | None = None,
    **refs: Any,
) -> JSONResponse:
    """Record a sub-resource of ``business`` in the business's village, for its household.

    The document and the payload ``model`` hold the business and household, the body's fields
    and ``refs``; the new id too where the payload declares ``id_field``.
    """
    id_as = id_field if id_field in model.model_fields else None
    build = build_from(model, body, id_as=id_as, keep_none=True, **_owner(business), **refs)
    return record(
        gate,
        store,
        body=body,
        collection=collection,
        id_field=id_field,
        id_prefix=id_prefix,
        village_code=business["village_code"],
        build=build,
        subject=business["household_id"],
        given_id=given_id,
        occurred_on=body.occurred_on,
        params={"business_id": business["business_id"]},
    )


@write_route(router, "/businesses", BusinessPublic, "Register a household's business (UMKM)")
def register_business(body: BusinessCreate, request: Request, gate: WriteGateDep) -> Any:
    return record_new(
        gate,
        store_of(request),
        body,
        ev.BusinessRegistered,
        sector=Sector.COMMERCE,
        collection=BUSINESSES,
        id_field="business_id",
        id_prefix="biz",
        subject=body.household_id,
        households=HOUSEHOLDS,
    )


@write_route(
    router, "/businesses/{business_id}/products", ProductPublic, "List a product of the business"
)
def list_product(
    business_id: str, body: ProductCreate, request: Request, gate: WriteGateDep
) -> Any:
    store = store_of(request)
    business = _business_for_write(gate, store, business_id)
    return _record_for(
        gate,
        store,
        business,
        body=body,
        collection=PRODUCTS,
        id_field="product_id",
        id_prefix="prd",
        model=ev.ProductListed,
        given_id=body.product_id,
    )


@write_route(
    router,
    "/businesses/{business_id}/channels",
    ChannelPublic,
    "Record that the business opened a sales channel (once per channel)",
)
def open_channel(
    business_id: str, body: ChannelCreate, request: Request, gate: WriteGateDep
) -> Any:
    store = store_of(request)
    business = _business_for_write(gate, store, business_id)
    # The id is the channel itself: opening it again is a 409, not a second adoption.
    return _record_for(
        gate,
        store,
        business,
        body=body,
        collection=CHANNELS,
        id_field="fact_id",
        id_prefix="chn",
        model=ev.ChannelOpened,
        given_id=f"{business_id}:{body.channel}",
    )


def _check_product(store: Store, business_id: str, product_id: str | None) -> None:
    if product_id is None:
        return
    product = store.get(PRODUCTS, product_id)
    if product is None or product["business_id"] != business_id:
        raise field_problem(
            "product_id", say("bukan produk usaha ini", "is not a product of this business")
        )


@write_route(
    router,
    "/businesses/{business_id}/sales",
    SalePublic,
    "Record a sale (amount = quantity x unit_price, rounded half up)",
)
def record_sale(business_id: str, body: SaleCreate, request: Request, gate: WriteGateDep) -> Any:
    store = store_of(request)
    business = _business_for_write(gate, store, business_id)
    _check_product(store, business_id, body.product_id)
    return _record_for(
        gate,
        store,
        business,
        body=body,
        collection=SALES,
        id_field="fact_id",
        id_prefix="sale",
        model=ev.SaleRecorded,
        amount=rupiah_amount(body.quantity, body.unit_price),
    )


@write_route(
    router,
    "/businesses/{business_id}/capital",
    CapitalPublic,
    "Record a loan or grant the business received",
)
def record_capital(
    business_id: str, body: CapitalCreate, request: Request, gate: WriteGateDep
) -> Any:
    store = store_of(request)
    business = _business_for_write(gate, store, business_id)
    return _record_for(
        gate,
        store,
        business,
        body=body,
        collection=CAPITAL,
        id_field="fact_id",
        id_prefix="cap",
        model=ev.CapitalReceived,
    )


@router.get(
    "/businesses",
    response_model=PageOut[BusinessPublic],
    summary="Businesses in scope, optionally of one village or household",
)
def list_businesses(
    principal: PrincipalDep,
    request: Request,
    page: PageDep,
    village_code: VillageQuery = None,
    household_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    where = {"household_id": household_id} if household_id is not None else None
    return list_in_scope(
        store_of(request), BUSINESSES, principal, page, village_code=village_code, where=where
    )


@router.get(
    "/businesses/{business_id}",
    response_model=BusinessDetail,
    summary="One business with its products and the channels it has opened",
)
def get_business(business_id: str, principal: PrincipalDep, request: Request) -> Any:
    store = store_of(request)
    business = _business(store, business_id, principal, writing=False)
    mine = {"business_id": business_id}
    products = store.find(PRODUCTS, mine, limit=DETAIL_PRODUCTS)
    channels = store.find(CHANNELS, mine, limit=CHANNEL_COUNT)
    return {
        **public_view(business),
        "products": products.items,
        "products_next_cursor": products.next_cursor,
        "channels": channels.items,
    }


def _of_business(
    request: Request, principal: Principal, business_id: str, collection: str, page: PageParams
) -> dict[str, object]:
    """One page of a business's sub-records (403/404 come from the business)."""
    store = store_of(request)
    business = _business(store, business_id, principal, writing=False)
    return list_in_scope(
        store,
        collection,
        principal,
        page,
        village_code=business["village_code"],
        where={"business_id": business_id},
    )


@router.get(
    "/businesses/{business_id}/products",
    response_model=PageOut[ProductPublic],
    summary="Products of a business",
)
def list_products(
    business_id: str, principal: PrincipalDep, request: Request, page: PageDep
) -> Any:
    return _of_business(request, principal, business_id, PRODUCTS, page)


@router.get(
    "/businesses/{business_id}/products/{product_id}",
    response_model=ProductPublic,
    summary="One product of a business",
)
def get_product(
    business_id: str, product_id: str, principal: PrincipalDep, request: Request
) -> Any:
    store = store_of(request)
    _business(store, business_id, principal, writing=False)
    product = store.get(PRODUCTS, product_id)
    if product is None or product["business_id"] != business_id:
        raise Problem(
            404, say(f"produk {product_id} tidak ditemukan", f"product {product_id} not found")
        )
    return public_view(product)


@router.get(
    "/businesses/{business_id}/channels",
    response_model=PageOut[ChannelPublic],
    summary="Channels the business has opened",
)
def list_channels(
    business_id: str, principal: PrincipalDep, request: Request, page: PageDep
) -> Any:
    return _of_business(request, principal, business_id, CHANNELS, page)


@router.get(
    "/businesses/{business_id}/sales",
    response_model=PageOut[SalePublic],
    summary="Sales of a business",
)
def list_sales(business_id: str, principal: PrincipalDep, request: Request, page: PageDep) -> Any:
    return _of_business(request, principal, business_id, SALES, page)


@router.get(
    "/businesses/{business_id}/capital",
    response_model=PageOut[CapitalPublic],
    summary="Loans and grants the business received",
)
def list_capital(business_id: str, principal: PrincipalDep, request: Request, page: PageDep) -> Any:
    return _of_business(request, principal, business_id, CAPITAL, page)
