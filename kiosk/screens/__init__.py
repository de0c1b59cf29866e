"""The kiosk's screens, one module (+ its .kv) each, in the order a customer meets them."""

from kiosk.screens.feedback import FeedbackScreen
from kiosk.screens.greeted import GreetedScreen
from kiosk.screens.message import MessageScreen
from kiosk.screens.pinpad import PinPad
from kiosk.screens.waiting import WaitingScreen
from kiosk.screens.welcome import WelcomeScreen

__all__ = ["FeedbackScreen", "GreetedScreen", "MessageScreen", "PinPad", "WaitingScreen", "WelcomeScreen"]
