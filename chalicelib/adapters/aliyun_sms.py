"""SMS through Alibaba Cloud SMS (Dysmsapi ``SendSms``), the provider for mainland China.

Mainland operators deliver only messages with an approved sign name (签名) and template
(模板), so a message goes out as the template's code and its parameters as JSON; the
provider renders its approved copy. ``SendSms`` answers HTTP 200 with ``Code: OK`` when it
accepted the message and 200 with another ``Code`` (``isv.BUSINESS_LIMIT_CONTROL``,
``isv.MOBILE_NUMBER_ILLEGAL``...) when it did not; both that and any transport or HTTP
error become ``SmsNotSent`` with the provider's code.

The SDK is imported only when ``SMS_PROVIDER=aliyun`` (see ``bootstrap``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.utils_models import Config
from Tea.exceptions import TeaException

from ..domain.sms import Sms
from .messaging import SmsNotSent

CONNECT_TIMEOUT_MS = 3_000
READ_TIMEOUT_MS = 5_000


class AliyunSmsSender:
    def __init__(self, client: Any, sign_name: str, template_codes: Mapping[str, str]) -> None:
        self._client = client
        self._sign_name = sign_name
        self._template_codes = dict(template_codes)

    @classmethod
    def connect(
        cls,
        credentials: Mapping[str, Any],
        endpoint: str,
        sign_name: str,
        template_codes: Mapping[str, str],
        *,
        protocol: str = "https",
        read_timeout_ms: int = READ_TIMEOUT_MS,
    ) -> AliyunSmsSender:
        """A sender with its own SDK client; ``credentials`` is the secret's JSON
        ``{"access_key_id", "access_key_secret"}``. The SDK does not retry by default: a
        failed send is reported, and the member may ask again after 60 s."""
        config = Config(
            access_key_id=str(credentials["access_key_id"]),
            access_key_secret=str(credentials["access_key_secret"]),
            endpoint=endpoint,
            protocol=protocol,
            connect_timeout=CONNECT_TIMEOUT_MS,
            read_timeout=read_timeout_ms,
        )
        return cls(Client(config), sign_name, template_codes)

    def send(self, sms: Sms, at: datetime) -> None:
        request = SendSmsRequest(
            # country code and number without "+": the form both mainland and international sends take
            phone_numbers=sms.to_e164.removeprefix("+"),
            sign_name=self._sign_name,
            template_code=self._template_codes[sms.template.name],
            template_param=json.dumps(dict(sms.params), ensure_ascii=False, separators=(",", ":")),
        )
        try:
            response = self._client.send_sms(request)
        except TeaException as exc:
            raise SmsNotSent(str(exc.code or "NoAnswer")) from None
        code = response.body.code if response.body is not None else None
        if code != "OK":
            raise SmsNotSent(str(code or "NoCode"))
