"""``/api/v1/shipping/``: lab contacts, shipments, dewars, containers, sample positions, and the
scanner devices' endpoint.

Every queryset starts from :mod:`mmcat.permissions`: what a user may not see is a 404. Members
of the proposal (and facility staff) write; people who only see a proposal (beamline staff) get
403 on writes. Every write goes through :mod:`.services` (400 naming the field, one transaction);
every status change through :mod:`.states` (409 with the reason when refused; asking again for
the status an object already has is a 200 that changes nothing, so retries are safe).

* ``shipping/contacts/``
* ``shipping/shipments/``: ``{id}/transition/`` (POST ``{"status", "location", "comment"}``),
  ``{id}/history/``
* ``shipping/dewars/`` (``?shipment=``): ``{id}/transition/``, ``{id}/history/``
* ``shipping/containers/`` (``?dewar=``, ``?shipment=``)
* ``shipping/positions/`` (``?container=``): POST places a sample, DELETE empties the position
* ``shipping/scan/``: POST ``{"barcode", "location", "status"?}``; facility staff and service
  accounts only.
"""

from __future__ import annotations

from django.db.models import Count, Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from mmcat import permissions as perms
from mmcat.api.fields import VisibleRelatedField
from mmcat.models import Beamline

from . import services, states
from .models import (
    Container,
    Dewar,
    DewarRegistry,
    LabContact,
    SamplePosition,
    Shipment,
    TransportEvent,
)

# --- serializers ------------------------------------------------------------------------------


def _visible_contacts(user):
    return LabContact.objects.filter(proposal__in=perms.visible_proposals(user))


class ContactSerializer(serializers.ModelSerializer):
    proposal = VisibleRelatedField(perms.member_proposals)

    class Meta:
        model = LabContact
        fields = ["id", "proposal", "person", "name", "email", "phone", "laboratory", "address",
                  "city", "postcode", "country", "courier", "courier_account",
                  "billing_reference", "default_dewar_weight"]
        read_only_fields = ["person"]
        validators = []  # the service checks (proposal, name), naming the field


class EventSerializer(serializers.ModelSerializer):
    by = serializers.StringRelatedField()

    class Meta:
        model = TransportEvent
        fields = ["id", "shipment", "dewar", "container", "from_status", "to_status",
                  "location", "comment", "by", "at"]


class PositionSerializer(serializers.ModelSerializer):
    container = serializers.PrimaryKeyRelatedField(queryset=Container.objects.none())
    sample = VisibleRelatedField(perms.visible_samples)
    sample_name = serializers.CharField(source="sample.name", read_only=True)
    component = serializers.CharField(source="sample.component", read_only=True)

    class Meta:
        model = SamplePosition
        fields = ["id", "container", "position", "sample", "sample_name", "component",
                  "pin_barcode"]
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        fields["container"].queryset = Container.objects.filter(
            dewar__shipment__proposal__in=perms.visible_proposals(
                request.user if request else None))
        return fields


class ContainerSerializer(serializers.ModelSerializer):
    dewar = serializers.PrimaryKeyRelatedField(queryset=Dewar.objects.none())
    capacity = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    barcode = serializers.CharField(required=False, allow_blank=True, max_length=45)
    sample_count = serializers.SerializerMethodField()

    class Meta:
        model = Container
        fields = ["id", "dewar", "code", "type", "capacity", "barcode", "queue_for_unattended",
                  "location", "comments", "sample_count"]
        read_only_fields = ["location"]
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        fields["dewar"].queryset = Dewar.objects.filter(
            shipment__proposal__in=perms.visible_proposals(request.user if request else None))
        return fields

    def get_sample_count(self, obj) -> int:
        count = getattr(obj, "sample_count", None)
        return obj.positions.count() if count is None else count


class DewarSerializer(serializers.ModelSerializer):
    shipment = serializers.PrimaryKeyRelatedField(queryset=Shipment.objects.none())
    registry = serializers.SlugRelatedField(slug_field="facility_code", required=False,
                                            allow_null=True,
                                            queryset=DewarRegistry.objects.all())
    status = serializers.CharField(read_only=True, help_text="Dewar status (see transition).")
    container_count = serializers.SerializerMethodField()

    class Meta:
        model = Dewar
        fields = ["id", "shipment", "code", "barcode", "registry", "status", "location",
                  "arrived_at", "weight", "tracking_number_to_facility",
                  "tracking_number_from_facility", "comments", "container_count"]
        read_only_fields = ["barcode", "status", "location", "arrived_at"]
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        fields["shipment"].queryset = Shipment.objects.filter(
            proposal__in=perms.visible_proposals(request.user if request else None))
        return fields

    def get_container_count(self, obj) -> int:
        count = getattr(obj, "container_count", None)
        return obj.containers.count() if count is None else count


class ShipmentSerializer(serializers.ModelSerializer):
    proposal = VisibleRelatedField(perms.member_proposals)
    sessions = VisibleRelatedField(perms.visible_sessions, many=True, required=False)
    sending_contact = VisibleRelatedField(_visible_contacts, required=False, allow_null=True)
    return_contact = VisibleRelatedField(_visible_contacts, required=False, allow_null=True)
    status = serializers.CharField(read_only=True, help_text="opened, ready, sent, "
                                   "at_facility or returned.")
    dewars = serializers.SerializerMethodField()
    editable = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = ["id", "proposal", "name", "safety_level", "status", "sessions",
                  "sending_contact", "return_contact", "courier", "courier_account",
                  "shipping_date", "delivery_agent_date", "comments", "created_at", "dewars",
                  "editable"]
        read_only_fields = ["status", "created_at"]
        validators = []

    def get_dewars(self, obj) -> list[dict]:
        return [{"id": d.pk, "code": d.code, "barcode": d.barcode, "status": d.status,
                 "location": d.location} for d in obj.dewars.all()]

    def get_editable(self, obj) -> bool:
        return obj.status in (Shipment.Status.OPENED, Shipment.Status.READY) and all(
            d.status in states.PRE_SENT for d in obj.dewars.all())


class TransitionSerializer(serializers.Serializer):
    status = serializers.CharField()
    location = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                     default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    tracking_number = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                            help_text="Dewars sent back: the courier's number.")


class ScanSerializer(serializers.Serializer):
    barcode = serializers.CharField(max_length=45)
    location = serializers.CharField(max_length=60)
    status = serializers.CharField(required=False, help_text="A dewar status; default: "
                                   "inferred from the dewar's status and the location.")
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_status(self, value):
        if value not in Dewar.Status.values:
            raise ValidationError(f"Unknown status {value!r}; one of "
                                  f"{', '.join(Dewar.Status.values)}.")
        return value


# --- helpers ----------------------------------------------------------------------------------


def _require_member(user, proposal_id) -> None:
    """Writes: members of the proposal and facility staff; others who see it get 403."""
    if not perms.member_proposals(user).filter(pk=proposal_id).exists():
        raise PermissionDenied("Only members of the proposal can change its shipments.")


def _conflict(exc: states.TransitionError) -> Response:
    return Response({"status": [str(exc)], "detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise ValidationError({name: [f"Expected an id, got {value!r}."]})
    return int(value)


def _data_fields(serializer, names) -> dict:
    return {k: v for k, v in serializer.validated_data.items() if k in names}


class _Base(viewsets.GenericViewSet):
    lookup_value_regex = r"\d+"

    def _proposals(self):
        return perms.visible_proposals(self.request.user)

    def _history(self, **filters) -> Response:
        events = (TransportEvent.objects.filter(**filters).select_related("by")
                  .order_by("-at", "-id"))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


# --- lab contacts -----------------------------------------------------------------------------


class ContactViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Lab contacts of the proposals you see (``?proposal=`` to filter)."""

    serializer_class = ContactSerializer
    queryset = LabContact.objects.none()

    def get_queryset(self):
        queryset = LabContact.objects.filter(proposal__in=self._proposals())
        proposal = _int_param(self.request, "proposal")
        if proposal is not None:
            queryset = queryset.filter(proposal_id=proposal)
        return queryset.order_by("name", "pk")

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        proposal = data.pop("proposal")
        contact = services.create_lab_contact(proposal, by=request.user, **data)
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial):
        contact = self.get_object()
        _require_member(request.user, contact.proposal_id)
        serializer = self.get_serializer(contact, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("proposal", contact.proposal) != contact.proposal:
            raise ValidationError({"proposal": ["A lab contact cannot move to another "
                                                "proposal."]})
        services.update_lab_contact(contact, by=request.user, **data)
        return Response(self.get_serializer(contact).data)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        contact = self.get_object()
        _require_member(request.user, contact.proposal_id)
        from django.db.models import Q

        if Shipment.objects.filter(Q(sending_contact=contact) | Q(return_contact=contact)
                                   ).exists():
            raise ValidationError({"contact": ["Shipments name this contact; it cannot be "
                                               "deleted."]})
        contact.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- shipments --------------------------------------------------------------------------------


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Shipments of the proposals you see (``?proposal=``, ``?status=``)."""

    serializer_class = ShipmentSerializer
    queryset = Shipment.objects.none()

    def get_queryset(self):
        queryset = (Shipment.objects.filter(proposal__in=self._proposals())
                    .prefetch_related("sessions",
                                      Prefetch("dewars", queryset=Dewar.objects.order_by("code")))
                    .order_by("-created_at", "-pk"))
        proposal = _int_param(self.request, "proposal")
        if proposal is not None:
            queryset = queryset.filter(proposal_id=proposal)
        if self.request.query_params.get("status"):
            queryset = queryset.filter(status=self.request.query_params["status"])
        return queryset

    def _answer(self, shipment, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=shipment.pk)).data,
                        status=code)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        proposal = data.pop("proposal")
        existing = Shipment.objects.filter(proposal=proposal, name=data.get("name")).first()
        shipment = services.create_shipment(proposal, by=request.user, **data) \
            if existing is None or not _same_shipment(existing, data) else existing
        return self._answer(shipment, status.HTTP_201_CREATED if existing is None
                            else status.HTTP_200_OK)

    def _update(self, request, partial):
        shipment = self.get_object()
        _require_member(request.user, shipment.proposal_id)
        serializer = self.get_serializer(shipment, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("proposal", shipment.proposal) != shipment.proposal:
            raise ValidationError({"proposal": ["A shipment cannot move to another proposal."]})
        sessions = data.pop("sessions", None)
        services.update_shipment(shipment, by=request.user, sessions=sessions, **data)
        return self._answer(shipment)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        shipment = self.get_object()
        _require_member(request.user, shipment.proposal_id)
        services.delete_shipment(shipment, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TransitionSerializer, responses={200: ShipmentSerializer})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Change the shipment's status (and its dewars'); 409 with the reason if refused."""
        shipment = self.get_object()
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        to = body.validated_data["status"]
        if to not in Shipment.Status.values:
            raise ValidationError({"status": [f"Unknown status {to!r}; one of "
                                              f"{', '.join(Shipment.Status.values)}."]})
        _check_may_set(request.user, shipment.proposal_id, to, dewar=False)
        if shipment.status != to:  # asking again for the current status: a retry, 200
            try:
                states.change_shipment_status(
                    shipment, to, by=request.user, location=body.validated_data["location"],
                    comment=body.validated_data["comment"])
            except states.TransitionError as exc:
                return _conflict(exc)
        return self._answer(shipment)

    @extend_schema(responses={200: EventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Every status change and scan of the shipment and its dewars, newest first."""
        shipment = self.get_object()
        return self._history(shipment=shipment)


def _same_shipment(existing: Shipment, data: dict) -> bool:
    """A retried create (same name and safety level, still editable) returns the first one."""
    return (existing.safety_level == data.get("safety_level", Shipment.Safety.GREEN)
            and states.is_editable(existing))


def _check_may_set(user, proposal_id, to_status, *, dewar=True) -> None:
    if not user.sees_everything and not user.is_service:
        _require_member(user, proposal_id)
    if not states.may_set(user, to_status, dewar=dewar):
        raise PermissionDenied(
            f"{to_status} is set by the facility." if (
                to_status in (states.FACILITY_DEWAR_STATUSES if dewar
                              else states.FACILITY_SHIPMENT_STATUSES))
            else f"{to_status} is set by the users of the proposal.")


# --- dewars -----------------------------------------------------------------------------------


class DewarViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Dewars of the shipments you see (``?shipment=``, ``?status=``)."""

    serializer_class = DewarSerializer
    queryset = Dewar.objects.none()

    def get_queryset(self):
        queryset = (Dewar.objects.filter(shipment__proposal__in=self._proposals())
                    .select_related("registry")
                    .annotate(container_count=Count("containers"))
                    .order_by("shipment_id", "code"))
        shipment = _int_param(self.request, "shipment")
        if shipment is not None:
            queryset = queryset.filter(shipment_id=shipment)
        if self.request.query_params.get("status"):
            queryset = queryset.filter(status=self.request.query_params["status"])
        return queryset

    def _answer(self, dewar, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=dewar.pk)).data,
                        status=code)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        shipment = data.pop("shipment")
        _require_member(request.user, shipment.proposal_id)
        code = (data.get("code") or "").strip()
        existing = Dewar.objects.filter(shipment=shipment, code=code).first()
        if existing is not None and states.is_editable(shipment) and all(
                getattr(existing, k) == v for k, v in data.items() if k != "code"):
            return self._answer(existing)  # a retried create
        data.pop("code", None)
        dewar = services.add_dewar(shipment, code=code, by=request.user, **data)
        return self._answer(dewar, status.HTTP_201_CREATED)

    def _update(self, request, partial):
        dewar = self.get_object()
        _require_member(request.user, dewar.shipment.proposal_id)
        serializer = self.get_serializer(dewar, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("shipment", dewar.shipment) != dewar.shipment:
            raise ValidationError({"shipment": ["A dewar cannot move to another shipment "
                                                "here; transfer it at the facility."]})
        services.update_dewar(dewar, by=request.user, **data)
        return self._answer(dewar)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        dewar = self.get_object()
        _require_member(request.user, dewar.shipment.proposal_id)
        services.delete_dewar(dewar, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=TransitionSerializer, responses={200: DewarSerializer})
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Change the dewar's status; 409 with the reason if refused. ``tracking_number``
        with ``sent_back`` records the courier's number (it goes into the email)."""
        dewar = self.get_object()
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        to = body.validated_data["status"]
        if to not in Dewar.Status.values:
            raise ValidationError({"status": [f"Unknown status {to!r}; one of "
                                              f"{', '.join(Dewar.Status.values)}."]})
        _check_may_set(request.user, dewar.shipment.proposal_id, to)
        if dewar.status != to:
            tracking = body.validated_data.get("tracking_number")
            if tracking and to == Dewar.Status.SENT_BACK:
                services.update_dewar(dewar, by=request.user,
                                      tracking_number_from_facility=tracking)
            try:
                states.change_dewar_status(
                    dewar, to, by=request.user, location=body.validated_data["location"],
                    comment=body.validated_data["comment"])
            except states.TransitionError as exc:
                return _conflict(exc)
        return self._answer(dewar)

    @extend_schema(responses={200: EventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """The dewar's history (status changes and scans, with who, when, where)."""
        dewar = self.get_object()
        return self._history(dewar=dewar)


# --- containers -------------------------------------------------------------------------------


class ContainerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Containers (pucks, plates) of the dewars you see (``?dewar=``, ``?shipment=``)."""

    serializer_class = ContainerSerializer
    queryset = Container.objects.none()

    def get_queryset(self):
        queryset = (Container.objects
                    .filter(dewar__shipment__proposal__in=self._proposals())
                    .annotate(sample_count=Count("positions"))
                    .order_by("dewar_id", "code"))
        for name, field in (("dewar", "dewar_id"), ("shipment", "dewar__shipment_id")):
            value = _int_param(self.request, name)
            if value is not None:
                queryset = queryset.filter(**{field: value})
        return queryset

    def _answer(self, container, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=container.pk)).data,
                        status=code)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        dewar = data.pop("dewar")
        _require_member(request.user, dewar.shipment.proposal_id)
        code = (data.pop("code", "") or "").strip()
        existing = Container.objects.filter(dewar=dewar, code=code).first()
        if existing is not None and states.is_editable(dewar.shipment) and all(
                getattr(existing, k) == v for k, v in data.items()
                if k not in ("capacity", "barcode") or v):
            return self._answer(existing)  # a retried create
        container = services.add_container(dewar, code=code, by=request.user, **data)
        return self._answer(container, status.HTTP_201_CREATED)

    def _update(self, request, partial):
        container = self.get_object()
        _require_member(request.user, container.dewar.shipment.proposal_id)
        serializer = self.get_serializer(container, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("dewar", container.dewar) != container.dewar:
            raise ValidationError({"dewar": ["A container cannot move to another dewar."]})
        services.update_container(container, by=request.user, **data)
        return self._answer(container)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        container = self.get_object()
        _require_member(request.user, container.dewar.shipment.proposal_id)
        services.delete_container(container, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- positions --------------------------------------------------------------------------------


class PositionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _Base):
    """Samples in containers (``?container=``). POST places a sample (placing it again where it
    is returns 200), DELETE empties the position."""

    serializer_class = PositionSerializer
    queryset = SamplePosition.objects.none()

    def get_queryset(self):
        queryset = (SamplePosition.objects
                    .filter(container__dewar__shipment__proposal__in=self._proposals())
                    .select_related("sample").order_by("container_id", "position"))
        container = _int_param(self.request, "container")
        if container is not None:
            queryset = queryset.filter(container_id=container)
        return queryset

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        container = data["container"]
        _require_member(request.user, container.dewar.shipment.proposal_id)
        existed = SamplePosition.objects.filter(
            container=container, position=data["position"], sample=data["sample"]).exists()
        placed = services.place_sample(container, data["position"], data["sample"],
                                       pin_barcode=data.get("pin_barcode", ""))
        return Response(self.get_serializer(placed).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        placed = self.get_object()
        _require_member(request.user, placed.container.dewar.shipment.proposal_id)
        services.remove_sample(placed.container, placed.position, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- scanner devices --------------------------------------------------------------------------


def infer_scan_status(dewar: Dewar, location: str) -> str | None:
    """The status a scan at ``location`` means: arrival if the dewar was sent, at the beamline
    if ``location`` is a beamline's name, back in store from a beamline; ``None`` if the dewar
    only moved (a new rack)."""
    if dewar.status in (Dewar.Status.SENT, Dewar.Status.READY):
        return Dewar.Status.AT_FACILITY
    if Beamline.objects.filter(name__iexact=location).exists():
        return Dewar.Status.AT_BEAMLINE
    if dewar.status in (Dewar.Status.AT_BEAMLINE, Dewar.Status.PROCESSING):
        return Dewar.Status.BACK_IN_STORE
    return None


class ScanViewSet(viewsets.GenericViewSet):
    """A scanner device (or the stores' page): a dewar barcode (or a container barcode, for
    its dewar) scanned at a location. Facility staff and service accounts only; others 404.
    Scanning again where the dewar already is changes nothing (200, ``"event": null``)."""

    serializer_class = ScanSerializer
    queryset = Dewar.objects.none()

    @extend_schema(request=ScanSerializer, responses={200: DewarSerializer})
    def create(self, request):
        user = request.user
        if not (user.sees_everything or user.is_service):
            raise Http404
        body = ScanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        code = body.validated_data["barcode"].strip().upper()
        location = body.validated_data["location"].strip()
        comment = body.validated_data["comment"]
        dewar = (Dewar.objects.filter(barcode=code).first()
                 or Dewar.objects.filter(containers__barcode=code).first())
        if dewar is None:
            raise ValidationError({"barcode": [f"No dewar or container has barcode {code}."]})
        to = body.validated_data.get("status")
        if to is None and dewar.status == Dewar.Status.READY:
            return _conflict(states.TransitionError(
                f"Dewar {dewar.code} was not marked sent; mark it sent first."))
        to = to or infer_scan_status(dewar, location)
        event = None
        try:
            if to is None or to == dewar.status:
                event = states.record_scan(dewar, by=user, location=location, comment=comment)
            else:
                event = states.change_dewar_status(dewar, to, by=user, location=location,
                                                   comment=comment)
        except states.TransitionError as exc:
            return _conflict(exc)
        dewar = (Dewar.objects.select_related("registry", "shipment")
                 .annotate(container_count=Count("containers")).get(pk=dewar.pk))
        data = DewarSerializer(dewar, context={"request": request}).data
        return Response({"dewar": data, "shipment": {"id": dewar.shipment_id,
                                                     "name": dewar.shipment.name,
                                                     "status": dewar.shipment.status},
                         "event": EventSerializer(event).data if event else None})
